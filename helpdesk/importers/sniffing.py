"""Decide a file's format from its name, then confirm it from its content (renamed files lie)."""

from __future__ import annotations

import io
import os
import zipfile

from helpdesk.importers.records import ImportFormatError

EXTENSIONS = {
    ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html", ".txt": "text",
    ".text": "text", ".csv": "csv", ".json": "json", ".pdf": "pdf", ".docx": "docx", ".zip": "zip",
}
TEXT_FORMATS = {"markdown", "html", "text", "csv", "json"}

# Leading bytes of common binary files that must never be taken for text.
SIGNATURES = [
    (b"MZ", "a Windows executable"),
    (b"\x7fELF", "an ELF executable"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xfe\xed\xfa", "a Mach-O executable"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"PK\x05\x06", "a ZIP archive"),
    (b"\x89PNG", "a PNG image"),
    (b"GIF8", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\xd0\xcf\x11\xe0", "an old Office document (.doc/.xls)"),
]
FORMAT_NAMES = {
    "markdown": "Markdown", "html": "HTML", "text": "plain text", "csv": "CSV", "json": "JSON",
    "pdf": "a PDF document", "docx": "a Word document", "zip": "a ZIP archive",
}


def content_kind(data: bytes) -> str:
    """Name what the bytes are, from their signature ("text" when they decode as UTF-8)."""
    head = data[:16]
    for signature, kind in SIGNATURES:
        if head.startswith(signature):
            if kind == "a ZIP archive" and _is_docx(data):
                return "a Word document"
            return kind
    sample = data[: 64 * 1024]
    if b"\x00" in sample:
        return "binary data"
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the sample's end is still text.
        if exc.start < len(sample) - 4:
            return "not UTF-8 text"
    return "text"


def detect_format(name: str, data: bytes) -> str:
    """Return the importer to use for this file, or raise ImportFormatError naming the mismatch."""
    ext = os.path.splitext(name.lower())[1]
    claimed = EXTENSIONS.get(ext)
    if claimed is None:
        raise ImportFormatError(
            f"unsupported file type {ext or '(no extension)'!r}: upload Markdown, HTML, text, CSV, JSON, PDF, DOCX or ZIP"
        )
    if not data:
        raise ImportFormatError("the file is empty")
    kind = content_kind(data)
    expected = "text" if claimed in TEXT_FORMATS else FORMAT_NAMES[claimed]
    if kind != expected:
        if kind == "not UTF-8 text" and claimed in TEXT_FORMATS:
            raise ImportFormatError("the file is not UTF-8 text: save it as UTF-8 and upload it again")
        raise ImportFormatError(f"the file is named {ext} but its content is {kind}, not {FORMAT_NAMES[claimed]}")
    return claimed


def _is_docx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
