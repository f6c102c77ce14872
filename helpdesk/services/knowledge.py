"""Writes to the knowledge base: articles, their passages, and the passages' vectors."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from functools import partial

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from embeddings.chunking import chunk_article
from embeddings.encoders.base import EncoderError
from helpdesk import conf, lexical, suggestion_cache
from helpdesk.models import Article, Chunk

logger = logging.getLogger(__name__)


def save_article(
    *,
    title: str,
    body: str,
    locale: str,
    article: Article | None = None,
    status: str | None = None,
    category: str | None = None,
    translation_group: uuid.UUID | None = None,
    external_id: str | None = None,
) -> Article:
    """Create or update an article, refresh its passages, and queue their embedding after commit."""
    with transaction.atomic():
        if article is None:
            article = Article(translation_group=translation_group or uuid.uuid4())
        elif translation_group is not None:
            article.translation_group = translation_group
        article.title = title.strip()
        article.body = body.strip()
        article.locale = locale
        if category is not None:
            article.category = category
        if external_id is not None:
            article.external_id = external_id
        if status is not None:
            article.status = status
            if status == Article.Status.PUBLISHED and article.published_at is None:
                article.published_at = timezone.now()
        article.full_clean(exclude=["translation_group"])
        article.save()
        pending = sync_chunks(article)
        enqueue_embedding(pending)
        suggestion_cache.kb_changed()
    return article


def set_article_status(*, article: Article, status: str) -> Article:
    """Publish or unpublish an article (its vectors stay; only published articles are suggested)."""
    article.status = status
    if status == Article.Status.PUBLISHED:
        article.published_at = article.published_at or timezone.now()
    article.save(update_fields=["status", "published_at", "updated_at"])
    suggestion_cache.kb_changed()
    return article


def sync_chunks(article: Article) -> list[int]:
    """Make the article's Chunk rows match its current text; return ids that need (re-)embedding.

    Passages whose content hash is unchanged keep their vector, so editing one paragraph of a long
    article re-embeds only what changed.
    """
    passages = chunk_article(article.title, article.body, max_words=conf.get("CHUNK_WORDS"))
    existing = {c.ordinal: c for c in article.chunks.all()}
    changed: list[Chunk] = []
    for passage in passages:
        chunk = existing.pop(passage.ordinal, None)
        if chunk is not None and chunk.content_hash == passage.content_hash and chunk.language == article.locale:
            continue
        if chunk is None:
            chunk = Chunk(article=article, ordinal=passage.ordinal)
        chunk.text, chunk.passage = passage.text, passage.body
        chunk.content_hash, chunk.language = passage.content_hash, article.locale
        chunk.embedding, chunk.encoder, chunk.embedded_at = None, "", None
        chunk.next_embedding, chunk.next_encoder = None, ""
        chunk.embed_attempts, chunk.embed_error = 0, ""
        chunk.save()
        changed.append(chunk)
    if existing:
        Chunk.objects.filter(id__in=[c.id for c in existing.values()]).delete()
    ids = [c.id for c in changed]
    lexical.update_search_vectors(ids)
    return ids


def enqueue_embedding(chunk_ids: list[int]) -> None:
    """Queue embedding tasks in bounded batches, once the surrounding transaction commits."""
    size = conf.get("EMBED_TASK_CHUNKS")
    for start in range(0, len(chunk_ids), size):
        transaction.on_commit(partial(_send_embed_task, chunk_ids[start : start + size]))


def _send_embed_task(batch: list[int]) -> None:
    from kombu.exceptions import OperationalError as BrokerError

    from helpdesk import tasks

    try:
        tasks.embed_chunks.delay(batch)
    except BrokerError as exc:
        # The rows are committed; the periodic sweep embeds them once the broker is back.
        logger.warning("broker unreachable, %d chunks left for the sweep: %s", len(batch), exc)


def embed_chunks(*, chunk_ids: list[int], encoder=None) -> int:
    """Embed the given chunks with the configured encoder; return how many vectors were written.

    Idempotent: chunks already embedded by this encoder are skipped. A chunk whose text changed
    while it was being encoded is left for the task queued by that change.

    While the install switches encoder (the configured one is not yet active), the new vectors are
    staged beside the old ones, which keep answering queries; passages the active encoder has not
    embedded (saved during the switch) get its vectors too, so they are found at once. The switch
    completes with the last staged vector (`services.encoders.complete_encoder_switch`).
    """
    from helpdesk import encoders
    from helpdesk.services import encoders as switch

    encoder = encoder or encoders.get_encoder()
    serving = encoders.active()
    if serving.name == encoder.name:
        written = _embed(chunk_ids, encoder, staged=False)
        if written:
            configured = encoders.configured()
            switch.record_active_encoder(configured if configured.name == encoder.name
                                         else encoders.EncoderConfig.from_name(encoder.name))
        return written
    written = _embed(chunk_ids, encoder, staged=True)
    try:
        _embed(chunk_ids, encoders.get_encoder(serving), staged=False)
    except EncoderError as exc:  # the old model is gone: new passages wait for the switch
        logger.warning("active encoder %s cannot embed new passages during the switch: %s", serving.name, exc)
    switch.complete_encoder_switch()
    return written


def _embed(chunk_ids: list[int], encoder, *, staged: bool) -> int:
    """Write `encoder`'s vectors of the chunks that lack them: the staged ones or those queries use."""
    vector_field, name_field = ("next_embedding", "next_encoder") if staged else ("embedding", "encoder")
    chunks = list(Chunk.objects.filter(id__in=chunk_ids).exclude(**{name_field: encoder.name})
                  .only("id", "text", "content_hash"))
    if not chunks:
        return 0
    try:
        vectors = encoder.encode_documents([c.text for c in chunks])
        if vectors.shape != (len(chunks), encoder.dimensions):
            raise EncoderError(
                f"encoder {encoder.name!r} declares {encoder.dimensions} dimensions but returned an array of "
                f"shape {tuple(vectors.shape)} for {len(chunks)} texts"
            )
    except Exception as exc:
        Chunk.objects.filter(id__in=[c.id for c in chunks]).update(
            embed_error=str(exc)[:2000], embed_attempts=F("embed_attempts") + 1
        )
        raise
    now = timezone.now()
    written = 0
    done = {vector_field: None, name_field: encoder.name, "embed_error": ""}
    if not staged:
        done["embedded_at"] = now
    with transaction.atomic():
        for chunk, vector in zip(chunks, vectors):
            done[vector_field] = vector
            written += Chunk.objects.filter(id=chunk.id, content_hash=chunk.content_hash).update(**done)
        if written and not staged:  # staged vectors answer nothing until the switch completes
            suggestion_cache.kb_changed()
    return written


def pending_chunk_ids(
    *, limit: int | None = None, max_attempts: int = 5, older_than: timedelta | None = None
) -> list[int]:
    """Ids of chunks not embedded by the configured encoder (oldest first), skipping hopeless ones.

    While switching encoder: those without the new encoder's staged vector, or without the active
    encoder's vector.
    """
    from django.db.models import Q

    from helpdesk import encoders

    target, serving = encoders.encoder_name(), encoders.active_encoder_name()
    missing = ~Q(encoder=serving) if target == serving else ~Q(next_encoder=target) | ~Q(encoder=serving)
    qs = Chunk.objects.filter(missing).filter(embed_attempts__lt=max_attempts)
    if older_than is not None:
        qs = qs.filter(updated_at__lt=timezone.now() - older_than)
    qs = (
        qs
        .order_by("id")
        .values_list("id", flat=True)
    )
    return list(qs[:limit] if limit else qs)
