"""CSV files: a header row naming the columns (title, body, locale, external_id, category, translation_key, status)."""

from __future__ import annotations

import csv
import io

from helpdesk.importers.cleaning import body_to_text, decode_text
from helpdesk.importers.records import FORMULA_STARTS, ImportFormatError, Record, field_names, optional, validated

# Bodies are long; the csv module's default field limit (128 KiB) is raised to the file size limit.
FIELD_LIMIT = 20 * 1024 * 1024


def _undo_formula_guard(cell: str) -> str:
    """Take off the apostrophe our CSV export puts before text a spreadsheet would run as a formula."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS) else cell


def _lines(text: str):
    """The text's lines one at a time (ends kept): a StringIO would hold a second, four-bytes-a-character
    copy of a 20 MB file. Files whose lines end in a lone CR (old Mac) go through StringIO."""
    if "\n" not in text[:1_000_000] and "\r" in text:
        yield from io.StringIO(text, newline="")
        return
    start, size = 0, len(text)
    while start < size:
        end = text.find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start:end + 1]
        start = end + 1


def _dialect(text: str):
    """The delimiter under which the header row names a title and a body column; the sniffer only
    when none does. Sniffing the first rows alone misreads files whose bodies hold quoted
    paragraphs with commas and semicolons (most exports)."""
    header = text.split("\n", 1)[0]
    for delimiter in (",", ";", "\t"):
        row = next(csv.reader([header], delimiter=delimiter), [])
        if {"title", "body"} <= set(field_names(row)):
            return type("Dialect", (csv.excel,), {"delimiter": delimiter})
    try:
        return csv.Sniffer().sniff(text[:8192], delimiters=",;\t")
    except csv.Error:
        return csv.excel


def parse(name: str, data: bytes) -> list[Record]:
    text = decode_text(data)
    csv.field_size_limit(FIELD_LIMIT)
    dialect = _dialect(text)
    reader = csv.reader(_lines(text), dialect, strict=True)
    try:
        header = next(reader, None)
        if not header:
            raise ImportFormatError("the file has no header row")
        fields = field_names(header)
        missing = [f for f in ("title", "body") if f not in fields]
        if missing:
            raise ImportFormatError(f"no {' or '.join(missing)} column in the header row: {', '.join(header)}")
        index = {field: header.index(column) for field, column in fields.items()}
        records = []
        errors = []
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                errors.append(f"row {line}: expected {len(header)} columns, found {len(row)}")
                continue
            values = {field: _undo_formula_guard(row[i]) for field, i in index.items()}
            records.append(Record(
                title=values["title"].strip(), body=body_to_text(values["body"]), where=f"row {line}",
                **{f: optional(values.get(f)) for f in ("locale", "external_id", "category", "translation_key", "status") if f in values},
            ))
    except csv.Error as exc:
        raise ImportFormatError(f"row {reader.line_num}: {exc}") from exc
    if errors:
        raise ImportFormatError("; ".join(errors[:20]))
    return validated(records)
