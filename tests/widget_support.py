"""Shared fixtures for the widget tests: a small multilingual KB (from the demo content) and a site."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpdesk.models import Article
from helpdesk.services.knowledge import embed_chunks, pending_chunk_ids, save_article
from helpdesk.services.widget import save_site

DEMO_KB = Path(__file__).resolve().parent.parent / "helpdesk" / "demo" / "kb.json"
KB_KEYS = ("reset-password", "track-order", "refund-timing", "return-item", "two-factor-codes")
LOCALES = ("en", "es", "ar")
HOST_ORIGIN = "https://shop.example.com"


def load_kb(*, keys=KB_KEYS, locales=LOCALES, draft_key: str | None = None) -> dict[tuple[str, str], Article]:
    """Save the demo articles `keys` in `locales`, published (one draft if asked), and embed them now."""
    data = json.loads(DEMO_KB.read_text())
    articles: dict[tuple[str, str], Article] = {}
    for item in data["articles"]:
        if item["key"] not in keys:
            continue
        group = None
        for locale in locales:
            translation = item["translations"].get(locale)
            if translation is None:
                continue
            status = Article.Status.DRAFT if item["key"] == draft_key else Article.Status.PUBLISHED
            article = save_article(title=translation["title"], body=translation["body"], locale=locale,
                                   status=status, translation_group=group, category=item.get("category", ""))
            group = article.translation_group
            articles[(item["key"], locale)] = article
    embed_chunks(chunk_ids=pending_chunk_ids())
    return articles


@pytest.fixture
def kb(db):
    # The real (default) encoder: what is confident enough to show is the engine's call, so it is the subject.
    return load_kb()


@pytest.fixture
def site(db):
    return save_site(name="Northwind Shop", allowed_origins=HOST_ORIGIN, default_locale="en")
