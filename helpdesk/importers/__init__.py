"""Turn uploaded files into article records: one module per format, chosen by name *and* content.

`parse_file(name, data)` is the entry point; it raises `ImportFormatError` with a message meant for
the admin who uploaded the file. Archives are expanded separately (`zip.expand`) so that every
member is reported as a file of its own.
"""

from helpdesk.importers.records import ImportFormatError, Record
from helpdesk.importers.sniffing import detect_format


def parse_file(name: str, data: bytes) -> list[Record]:
    """Parse one (non-archive) file into records; raise ImportFormatError when it cannot be used."""
    from helpdesk.importers import csv, docx, html, json, markdown, pdf, text

    parsers = {
        "markdown": markdown.parse, "html": html.parse, "text": text.parse, "csv": csv.parse,
        "json": json.parse, "pdf": pdf.parse, "docx": docx.parse,
    }
    fmt = detect_format(name, data)
    if fmt == "zip":
        raise ImportFormatError("archives inside archives are not supported")
    records = parsers[fmt](name, data)
    if not records:
        raise ImportFormatError("no articles found in this file")
    return records


__all__ = ["ImportFormatError", "Record", "detect_format", "parse_file"]
