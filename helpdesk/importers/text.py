"""Plain-text files: the first non-empty line is the title, the rest the body."""

from __future__ import annotations

from helpdesk.importers.cleaning import decode_text, normalize_text
from helpdesk.importers.records import Record, validated


def parse(name: str, data: bytes) -> list[Record]:
    text = normalize_text(decode_text(data))
    title, _, body = text.partition("\n")
    return validated([Record(title=title.strip(), body=body.strip())])
