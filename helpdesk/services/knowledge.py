"""Writes to the knowledge base: articles, their passages, and the passages' vectors."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from functools import partial

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from embeddings.chunking import chunk_article, chunking_signature
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
    queue_embedding: bool = True,
) -> Article:
    """Create or update an article, refresh its passages, and queue their embedding after commit
    (`queue_embedding=False`: the caller batches it with other articles')."""
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
        article.chunked_with = current_chunking()  # saved with the row: sync_chunks below needs no update
        article.save()
        pending = sync_chunks(article)
        if queue_embedding:
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


def current_chunking() -> str:
    """How articles are split with the current settings (`embeddings.chunking.chunking_signature`)."""
    return chunking_signature(max_words=conf.get("CHUNK_WORDS"), title_passage=conf.get("TITLE_PASSAGE"))


def rechunk_stale(*, limit: int | None = None, queue: bool = True) -> tuple[int, int]:
    """Split again the articles chunked under other settings or an older chunker (after an upgrade,
    or a change of CHUNK_WORDS or TITLE_PASSAGE), oldest first, at most `limit`; with `queue`, queue
    what changed for embedding, packed across articles (left for the sweep if this process dies
    first). Passages whose text is unchanged keep their vectors. Return (articles, passages).

    Each article in its own transaction, its row locked, so an editor saving it meanwhile waits
    rather than racing it for the same passage ordinals."""
    signature = current_chunking()
    ids = list(Article.objects.exclude(chunked_with=signature).order_by("id").values_list("id", flat=True)[:limit])
    articles, changed = 0, []
    for article_id in ids:
        with transaction.atomic():
            article = Article.objects.select_for_update().filter(pk=article_id).first()
            if article is None or article.chunked_with == signature:
                continue
            changed += sync_chunks(article)
        articles += 1
    if articles:
        suggestion_cache.kb_changed()
    if queue and changed:
        queue_batches(changed)
    return articles, len(changed)


def sync_chunks(article: Article) -> list[int]:
    """Make the article's Chunk rows match its current text; return ids that need (re-)embedding.

    Passages whose content hash is unchanged keep their vector, so editing one paragraph of a long
    article re-embeds only what changed.
    """
    passages = chunk_article(article.title, article.body, max_words=conf.get("CHUNK_WORDS"),
                             title_passage=conf.get("TITLE_PASSAGE"))
    signature = current_chunking()
    if article.chunked_with != signature:
        article.chunked_with = signature
        Article.objects.filter(pk=article.pk).update(chunked_with=signature)
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
    if chunk_ids:
        transaction.on_commit(partial(queue_batches, list(chunk_ids)))


def queue_batches(chunk_ids: list[int]) -> int:
    """Queue embedding tasks for these chunks now, packed by count and tokens; return tasks sent."""
    batcher = EmbeddingBatcher()
    for start in range(0, len(chunk_ids), 10_000):
        batcher.add(_sizes(chunk_ids[start:start + 10_000]))
    batcher.flush()
    return batcher.sent


def _sizes(chunk_ids: list[int]) -> list[tuple[int, int]]:
    from django.db.models.functions import Length

    return list(Chunk.objects.filter(id__in=chunk_ids).order_by("id").annotate(n=Length("text"))
                .values_list("id", "n"))


def unembedded_chunks(article_ids: list[int]) -> list[tuple[int, int]]:
    """(id, characters) of these articles' passages the configured encoder has yet to embed."""
    from django.db.models.functions import Length

    return list(Chunk.objects.filter(_missing_vector(), article_id__in=article_ids).order_by("id")
                .annotate(n=Length("text")).values_list("id", "n"))


class EmbeddingBatcher:
    """Packs passages of many articles into embedding tasks of at most EMBED_TASK_CHUNKS passages and
    EMBED_TASK_TOKENS estimated tokens: an import of short articles then embeds 64 passages per task,
    as fast as the model's own batched encode, instead of one article's two or three.

    Tasks go out as soon as a batch is full, so embedding runs while the import is still writing.
    """

    def __init__(self):
        self.max_chunks, self.max_tokens = conf.get("EMBED_TASK_CHUNKS"), conf.get("EMBED_TASK_TOKENS")
        self.ids: list[int] = []
        self.tokens = 0
        self.sent = 0

    def add(self, chunks) -> None:
        """Add (chunk id, text length in characters) pairs."""
        for chunk_id, chars in chunks:
            tokens = estimated_tokens(chars)
            if self.ids and (len(self.ids) >= self.max_chunks or self.tokens + tokens > self.max_tokens):
                self.flush()
            self.ids.append(chunk_id)
            self.tokens += tokens

    def flush(self) -> None:
        if self.ids:
            transaction.on_commit(partial(_send_embed_task, self.ids))  # at once outside a transaction
            self.sent += 1
        self.ids, self.tokens = [], 0


def estimated_tokens(chars: int | None) -> int:
    """A tokenizer-free estimate, on the high side (XLM-R averages 3-4 characters a token in Latin
    scripts, fewer in CJK): bounds a task's work without loading a tokenizer."""
    return (chars or 0) // 3 + 2


# After the broker refused a task, skip sending for a few seconds: an import would otherwise wait
# for every batch's failed publish. What is skipped is left to the sweep, like a failed publish.
BROKER_BACKOFF_SECONDS = 5.0
_broker_down_until = 0.0


def _send_embed_task(batch: list[int]) -> None:
    global _broker_down_until
    import time

    from kombu.exceptions import OperationalError as BrokerError

    from helpdesk import tasks

    if time.monotonic() < _broker_down_until:
        return
    try:
        tasks.embed_chunks.delay(list(batch))
    except (BrokerError, OSError) as exc:
        # The rows are committed; the periodic sweep embeds them once the broker is back.
        _broker_down_until = time.monotonic() + BROKER_BACKOFF_SECONDS
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
    with transaction.atomic():
        written = _write_vectors(chunks, vectors, vector_field=vector_field, name_field=name_field,
                                 encoder_name=encoder.name, embedded_at=None if staged else timezone.now())
        if written and not staged:  # staged vectors answer nothing until the switch completes
            suggestion_cache.kb_changed()
    return written


def _write_vectors(chunks: list[Chunk], vectors, *, vector_field: str, name_field: str, encoder_name: str,
                   embedded_at) -> int:
    """Write each chunk's vector in one UPDATE, where its text is still the one encoded; return how many.

    One statement for the whole batch rather than one per passage: with the int8 encoder, 64
    single-row UPDATEs were ~10 % of a task's time.
    """
    from pgvector import Vector

    fields = {name: Chunk._meta.get_field(name).column for name in (vector_field, name_field, "embed_error",
                                                                      "embedded_at", "id", "content_hash")}
    assignments = [f'"{fields[vector_field]}" = v.vector::vector', f'"{fields[name_field]}" = %s',
                   f'"{fields["embed_error"]}" = \'\'']
    params: list = [encoder_name]
    if embedded_at is not None:
        assignments.append(f'"{fields["embedded_at"]}" = %s')
        params.append(embedded_at)
    rows = ", ".join(["(%s::bigint, %s::text, %s::text)"] * len(chunks))
    for chunk, vector in zip(chunks, vectors):
        params += [chunk.id, chunk.content_hash, Vector(vector).to_text()]
    sql = (f'UPDATE "{Chunk._meta.db_table}" AS c SET {", ".join(assignments)} '
           f"FROM (VALUES {rows}) AS v(id, content_hash, vector) "
           f'WHERE c."{fields["id"]}" = v.id AND c."{fields["content_hash"]}" = v.content_hash')
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def pending_chunk_ids(
    *, limit: int | None = None, max_attempts: int = 5, older_than: timedelta | None = None
) -> list[int]:
    """Ids of chunks not embedded by the configured encoder (oldest first), skipping hopeless ones.

    While switching encoder: those without the new encoder's staged vector, or without the active
    encoder's vector.
    """
    qs = Chunk.objects.filter(_missing_vector()).filter(embed_attempts__lt=max_attempts)
    if older_than is not None:
        qs = qs.filter(updated_at__lt=timezone.now() - older_than)
    qs = (
        qs
        .order_by("id")
        .values_list("id", flat=True)
    )
    return list(qs[:limit] if limit else qs)


def _missing_vector():
    """Chunks lacking the configured encoder's vector (while switching: the staged new one, or the
    active encoder's)."""
    from django.db.models import Q

    from helpdesk import encoders

    target, serving = encoders.encoder_name(), encoders.active_encoder_name()
    return ~Q(encoder=serving) if target == serving else ~Q(next_encoder=target) | ~Q(encoder=serving)
