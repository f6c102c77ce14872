"""Knowledge-base exports in the shapes the importers read back (JSON or CSV, translations included).

Each article is one record; translations share `translation_key` (the group's UUID), so importing
an export updates the same articles instead of creating new ones.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Iterator

from django.utils import timezone

from helpdesk.importers.records import FORMULA_STARTS
from helpdesk.models import Article

FIELDS = ["translation_key", "locale", "title", "body", "category", "external_id", "status"]


def article_records(*, status: str | None = None) -> Iterator[dict]:
    """Every article as a flat record, translations next to each other."""
    articles = Article.objects.order_by("translation_group", "locale", "id")
    if status:
        articles = articles.filter(status=status)
    for article in articles.iterator(chunk_size=500):
        yield {
            "translation_key": str(article.translation_group), "locale": article.locale, "title": article.title,
            "body": article.body, "category": article.category, "external_id": article.external_id,
            "status": article.status,
        }


def export_json(*, status: str | None = None) -> str:
    """The knowledge base as `{"format": ..., "articles": [...]}`."""
    records = list(article_records(status=status))
    payload = {
        "format": "polyglot-desk-kb", "version": 1, "exported_at": timezone.now().isoformat(),
        "count": len(records), "articles": records,
    }
    return json.dumps(payload, ensure_ascii=False, indent=1)


def export_csv(*, status: str | None = None) -> str:
    """The knowledge base as CSV with a header row (one row per article and locale)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for record in article_records(status=status):
        writer.writerow({key: defuse_formula(value) for key, value in record.items()})
    return out.getvalue()


def defuse_formula(value):
    """Prefix text a spreadsheet would run as a formula (=HYPERLINK(...) phoning home) with an
    apostrophe, as OWASP advises; the CSV importer takes it off again, so exports still round-trip."""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value
