"""Reads: the best published articles for a text (dense retrieval over chunk vectors)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.urls import reverse

from helpdesk import conf, vectors
from helpdesk.encoders import get_encoder
from helpdesk.models import Article, Chunk


@dataclass
class ArticleSuggestion:
    article_id: int
    title: str
    locale: str
    url: str
    snippet: str
    score: float
    confidence: float
    retrievers: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "article_id": self.article_id,
            "title": self.title,
            "locale": self.locale,
            "url": self.url,
            "snippet": self.snippet,
            "score": round(self.score, 4),
            "confidence": round(self.confidence, 4),
            "retrievers": self.retrievers,
        }


def _confidence(similarity: float) -> float:
    # Cosine similarity of unrelated MiniLM texts sits near 0.1; clear answers above 0.5.
    return max(0.0, min(1.0, (similarity - 0.15) / 0.45))


def suggest_articles(*, text: str, limit: int | None = None, locale: str | None = None) -> list[ArticleSuggestion]:
    """Return up to `limit` published articles nearest to `text`, best first.

    Chunks are over-fetched because HNSW applies the `published` filter after the index scan.
    When the article exists in `locale` too, that translation is shown.
    """
    text = (text or "").strip()
    limit = limit or conf.get("SUGGESTION_LIMIT")
    if not text:
        return []
    encoder = get_encoder()
    query = encoder.encode_queries([text])[0]
    with transaction.atomic():
        hits = vectors.nearest_chunks(query, encoder=encoder.name, limit=max(limit * 20, 100),
                                      ef_search=conf.get("HNSW_EF_SEARCH"))
    best: dict[int, tuple[int, float]] = {}
    for chunk_id, article_id, similarity in hits:
        if article_id not in best or similarity > best[article_id][1]:
            best[article_id] = (chunk_id, similarity)
    articles = Article.objects.in_bulk([a for a in best], field_name="id")
    published = {aid: v for aid, v in best.items() if aid in articles and articles[aid].is_published}
    ranked = sorted(published.items(), key=lambda kv: kv[1][1], reverse=True)

    results: list[ArticleSuggestion] = []
    seen_groups = set()
    snippets = dict(Chunk.objects.filter(id__in=[c for _, (c, _) in ranked[: limit * 3]]).values_list("id", "passage"))
    for article_id, (chunk_id, similarity) in ranked:
        article = articles[article_id]
        if article.translation_group in seen_groups:
            continue
        seen_groups.add(article.translation_group)
        shown = _in_locale(article, locale)
        results.append(ArticleSuggestion(
            article_id=shown.id,
            title=shown.title,
            locale=shown.locale,
            url=reverse("helpdesk:article", args=[shown.id]),
            snippet=(snippets.get(chunk_id) if shown.id == article.id else shown.body)[:300],
            score=similarity,
            confidence=_confidence(similarity),
            retrievers=["dense"],
        ))
        if len(results) >= limit:
            break
    return results


def _in_locale(article: Article, locale: str | None) -> Article:
    if not locale or article.locale == locale:
        return article
    primary = locale.split("-")[0]
    translation = (
        Article.objects.filter(translation_group=article.translation_group, status=Article.Status.PUBLISHED)
        .filter(locale__in=[locale, primary])
        .first()
    )
    return translation or article
