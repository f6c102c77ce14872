"""Markdown files, with optional YAML front matter (title, locale, id, category, translation_key, status)."""

from __future__ import annotations

import os
import re

import markdown as markdown_lib
import yaml

from helpdesk.importers.cleaning import decode_text, html_to_text
from helpdesk.importers.records import ImportFormatError, Record, field_names, optional, validated

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
# libyaml's loader when present: same safe subset, several times faster on thousands of files.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_HEADING = re.compile(r"\A\s*#[ \t]+(.+?)[ \t#]*(?:\n|\Z)")


def parse(name: str, data: bytes) -> list[Record]:
    text = decode_text(data).replace("\r\n", "\n")
    meta: dict = {}
    match = _FRONT_MATTER.match(text)
    if match:
        try:
            meta = yaml.load(match.group(1), Loader=_LOADER) or {}
        except yaml.YAMLError as exc:
            raise ImportFormatError(f"the front matter is not valid YAML: {exc}".split("\n")[0]) from exc
        if not isinstance(meta, dict):
            raise ImportFormatError("the front matter must be a set of `key: value` lines")
        text = text[match.end():]
    fields = field_names(meta)
    title = optional(meta.get(fields["title"])) if "title" in fields else None
    if title is None:
        heading = _HEADING.match(text)
        if heading:
            title, text = heading.group(1).strip(), text[heading.end():]
        else:
            title = os.path.splitext(os.path.basename(name))[0].replace("-", " ").replace("_", " ").strip()
    body = html_to_text(markdown_lib.markdown(text, extensions=["tables", "fenced_code"]))
    return validated([Record(
        title=title, body=body,
        **{f: optional(meta.get(fields[f])) for f in ("locale", "external_id", "category", "translation_key", "status") if f in fields},
    )])
