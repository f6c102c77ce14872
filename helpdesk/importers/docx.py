"""Word documents (python-docx): the core title or first heading is the title, paragraphs the body."""

from __future__ import annotations

import io
import zipfile

import docx
from lxml import etree

from helpdesk.importers.cleaning import normalize_text
from helpdesk.importers.records import ImportFormatError, Record, optional, validated


def parse(name: str, data: bytes) -> list[Record]:
    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError, etree.XMLSyntaxError) as exc:
        raise ImportFormatError(f"the Word document cannot be read: {exc}") from exc
    props = document.core_properties
    paragraphs = [(p.style.name if p.style is not None else "", p.text.strip()) for p in document.paragraphs]
    paragraphs = [(style, text) for style, text in paragraphs if text]
    title = optional(props.title)
    if title is None and paragraphs:
        _, title = paragraphs.pop(0)
    elif paragraphs and paragraphs[0][1] == title:
        paragraphs.pop(0)
    body = normalize_text("\n\n".join(text for _, text in paragraphs))
    return validated([Record(
        title=title or "", body=body, locale=optional(props.language), category=optional(props.category),
        external_id=optional(props.identifier),
    )])
