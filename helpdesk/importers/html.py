"""HTML files: one article per page, or a help-center export with one `<article>` element per article.

Metadata comes from `data-*` attributes on each `<article>` (`data-external-id`, `data-category`,
`data-translation-key`, `data-status`, `lang`), or for a single page from `<meta name=...>` tags and
`<html lang>`. The title is the first heading (or `<title>`); everything else is sanitised body.
"""

from __future__ import annotations

import re

import lxml.html
from lxml import etree

from helpdesk.importers.cleaning import decode_text, html_to_text
from helpdesk.importers.records import ImportFormatError, Record, field_names, optional, validated

HEADINGS = ("h1", "h2", "h3")
_XML_DECLARATION = re.compile(r"\A\s*<\?xml[^>]*\?>")


def parse(name: str, data: bytes) -> list[Record]:
    # lxml refuses str input that still declares an encoding (XHTML exports): the bytes are decoded already.
    text = _XML_DECLARATION.sub("", decode_text(data), count=1)
    try:
        document = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError) as exc:
        raise ImportFormatError(f"the HTML cannot be read: {exc}") from exc
    for junk in document.xpath("//script|//style|//template|//noscript"):
        junk.drop_tree()
    articles = document.xpath("//article")
    if articles:
        return validated([_record(el, _attributes(el), where=f"article {n}") for n, el in enumerate(articles, 1)])
    meta = {m.get("name"): m.get("content") for m in document.xpath("//meta[@name and @content]")}
    meta.setdefault("locale", document.get("lang"))
    body = document.find("body")
    titles = document.xpath("//head/title/text()")
    return validated([_record(body if body is not None else document, meta, fallback_title=titles[0] if titles else "")])


def _attributes(element) -> dict:
    attrs = {key[5:]: value for key, value in element.attrib.items() if key.startswith("data-")}
    lang = element.get("lang") or next((a.get("lang") for a in element.iterancestors() if a.get("lang")), None)
    attrs.setdefault("locale", lang)
    return attrs


def _record(element, meta: dict, *, where: str = "", fallback_title: str = "") -> Record:
    fields = field_names(meta)
    heading = next(iter(element.xpath(" | ".join(f".//{h}" for h in HEADINGS))), None)
    title = optional(meta.get(fields["title"])) if "title" in fields else None
    if heading is not None:
        title = title or heading.text_content().strip()
        heading.drop_tree()
    body = html_to_text(lxml.html.tostring(element, encoding="unicode"))
    return Record(
        title=title or fallback_title.strip(), body=body, where=where,
        **{f: optional(meta.get(fields[f])) for f in ("locale", "external_id", "category", "translation_key", "status") if f in fields},
    )
