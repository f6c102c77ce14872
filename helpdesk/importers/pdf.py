"""Text PDFs (pypdf): the document title (or first line) is the title, the pages' text the body."""

from __future__ import annotations

import io
import logging

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from helpdesk.importers.cleaning import normalize_text
from helpdesk.importers.records import ImportFormatError, Record, validated

MAX_PAGES = 500


def parse(name: str, data: bytes) -> list[Record]:
    # pypdf quietly rebuilds damaged files; a PDF without its end marker was cut short in transit.
    if b"%%EOF" not in data[-2048:]:
        raise ImportFormatError("the PDF is truncated (no end-of-file marker): upload the complete file")
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise ImportFormatError("the PDF is encrypted: upload an unprotected copy")
        if len(reader.pages) > MAX_PAGES:
            raise ImportFormatError(f"the PDF has {len(reader.pages)} pages; at most {MAX_PAGES} are imported per file")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or ""
        language = _language(reader)
    except ImportFormatError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError) as exc:
        raise ImportFormatError(f"the PDF cannot be read: {exc}") from exc
    text = normalize_text("\n\n".join(pages))
    if not text:
        raise ImportFormatError("the PDF has no extractable text (is it a scan?)")
    if not title.strip():
        title, _, text = text.partition("\n")
    return validated([Record(title=title.strip(), body=text.strip(), locale=language)])


def _language(reader: PdfReader) -> str | None:
    try:
        lang = reader.trailer["/Root"].get("/Lang")
    except (KeyError, AttributeError, TypeError):
        return None
    return str(lang).strip() or None if lang else None
