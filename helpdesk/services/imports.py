"""Knowledge-base imports: accept an upload, then parse, clean, match and save its articles.

Atomicity and resuming: articles are written in batches (IMPORT_BATCH_RECORDS per transaction),
each batch together with its passages, the job's counters and the file's resume point
(`ImportFile.records_done`). A file is parsed and validated in full before any of its articles is
written, so a malformed file changes nothing. Whatever stops an import — a killed worker, a database
or broker outage — it carries on from the last committed batch when it runs again: the task retries
a lost database itself (with backoff, up to IMPORT_DB_RETRY_SECONDS), and the periodic sweep queues
again a job that no task holds (a PostgreSQL advisory lock) and whose heartbeat is old. Running a job
twice is harmless: only the lock's holder writes, and articles already written compare as unchanged.

Embedding is queued as batches fill (across articles and files, see
`knowledge.EmbeddingBatcher`), so it starts while a large import is still writing.
"""

from __future__ import annotations

import logging
import time
import uuid
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from embeddings.chunking import chunk_article
from embeddings.language import detect_language, to_bcp47
from helpdesk import conf, lexical, suggestion_cache
from helpdesk.importers import ImportFormatError, Record, detect_format, parse_file
from helpdesk.importers import zip as zip_importer
from helpdesk.models import Article, ImportFile, ImportJob
from helpdesk.services import import_files, knowledge
from helpdesk.services.knowledge import save_article

logger = logging.getLogger(__name__)

# Translation keys that are not UUIDs map to a stable group id, so re-uploads land in the same group.
TRANSLATION_NAMESPACE = uuid.UUID("5d0c8f5e-2c1b-4a4e-9a53-6c7a2f1e9b10")
# First key of the advisory lock a running import holds (the second is the job id).
LOCK_NAMESPACE = 0x1D_13
DATABASE_LOST = (OperationalError, InterfaceError)
RECORD_ERRORS = (IntegrityError, ValidationError, ValueError, DataError)


class UploadRejected(ValueError):
    """The upload as a whole breaks a limit; `messages` say which files and why."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)
    article_ids: list[int] = field(default_factory=list)
    changed_ids: list[int] = field(default_factory=list)  # created or updated: their passages need vectors


def check_upload_limits(files: list[tuple[str, int]]) -> list[str]:
    """Return what is wrong with uploading files of these (name, size)s; empty when all is fine."""
    max_file, max_total = conf.get("IMPORT_MAX_FILE_BYTES"), conf.get("IMPORT_MAX_UPLOAD_BYTES")
    problems = []
    for name, size in files:
        limit = max_total if name.lower().endswith(".zip") else max_file
        if size > limit:
            problems.append(f"{name}: {size:,} bytes is over the {limit:,}-byte limit for one file")
    total = sum(size for _, size in files)
    if total > max_total:
        problems.append(f"the upload is {total:,} bytes, over the {max_total:,}-byte limit")
    if not files:
        problems.append("choose at least one file")
    return problems


def start_import(
    *, files: Iterable[tuple[str, object]], user=None, publish: bool = True, source: str = "", queue: bool = True
) -> ImportJob:
    """Record an upload and queue its processing after commit (`queue=False`: the caller runs it);
    raise UploadRejected over the limits.

    Each file is (name, bytes | path | uploaded file): its bytes are copied into the database in
    pieces, never read whole into memory.
    """
    files = [(name, data, import_files.size_of(data)) for name, data in files]
    problems = check_upload_limits([(name, size) for name, _, size in files])
    if problems:
        raise UploadRejected(problems)
    with transaction.atomic():
        job = ImportJob.objects.create(created_by=user, publish=publish, source=source[:300], files_total=len(files))
        for name, data, size in files:
            import_files.store(ImportFile.objects.create(job=job, name=name[:1000], size=size), data)
        if queue:
            transaction.on_commit(lambda: queue_job(job.id))
    return job


def queue_job(job_id: int) -> bool:
    """Send the job's task; with the broker down, leave it to the sweep (the upload is recorded)."""
    from kombu.exceptions import OperationalError as BrokerError

    from helpdesk import tasks_imports

    try:
        tasks_imports.run_import.delay(job_id)
    except (BrokerError, OSError) as exc:
        logger.warning("import %s: broker unreachable, the sweep will queue it: %s", job_id, exc)
        return False
    return True


def run_import(*, job_id: int, on_progress: Callable[[ImportJob], None] | None = None) -> ImportJob:
    """Process every pending file of the job, from where it stopped; wait out a database outage.

    A lost database connection is retried with backoff (1 s doubling to 30 s) for up to
    IMPORT_DB_RETRY_SECONDS; the run then resumes after the last committed batch.
    """
    deadline = time.monotonic() + conf.get("IMPORT_DB_RETRY_SECONDS")
    delay = 1.0
    while True:
        try:
            return _run(job_id, on_progress)
        except DATABASE_LOST as exc:
            if time.monotonic() + delay > deadline:
                raise
            logger.warning("import %s: database unreachable (%s); retrying in %.0f s", job_id, exc, delay)
            _close_connection()
            time.sleep(delay)
            delay = min(delay * 2, 30.0)


def _close_connection() -> None:
    try:
        connection.close()
    except Exception:  # a connection that died cannot be closed cleanly; it is dropped all the same
        connection.connection = None


@contextmanager
def job_lock(job_id: int):
    """Hold the job's advisory lock for the block; yields False when another run holds it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_NAMESPACE, job_id])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, job_id])
            except DATABASE_LOST:
                pass  # the connection is gone, and its lock with it


def is_held(job_id: int) -> bool:
    """Whether a running import holds the job (its session still exists)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND objid = %s "
                       "AND objsubid = 2 AND granted", [LOCK_NAMESPACE, job_id])
        return cursor.fetchone() is not None


def stranded_jobs(*, stale_seconds: int | None = None) -> list[int]:
    """Ids of jobs queued or running with no heartbeat for `stale_seconds` and no task holding them."""
    stale = timezone.now() - timezone.timedelta(seconds=stale_seconds if stale_seconds is not None
                                                else conf.get("IMPORT_STALE_SECONDS"))
    candidates = ImportJob.objects.filter(status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING]).filter(
        Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, created_at__lt=stale)).order_by("id").values_list("id", flat=True)
    return [job_id for job_id in candidates if not is_held(job_id)]


def requeue_stranded() -> list[int]:
    """Queue again every stranded job (the sweep); return their ids."""
    queued = []
    for job_id in stranded_jobs():
        # The heartbeat moves on so that a job waiting behind others in the queue is not sent again
        # at every sweep; a run that finds another holding the job simply returns.
        ImportJob.objects.filter(id=job_id).update(heartbeat_at=timezone.now())
        if queue_job(job_id):
            queued.append(job_id)
    if queued:
        logger.info("sweep: queued stranded imports %s again", queued)
    return queued


def _run(job_id: int, on_progress) -> ImportJob:
    job = ImportJob.objects.get(id=job_id)
    if job.is_finished:
        return job
    with job_lock(job.id) as held:
        if not held:
            logger.info("import %s is being run by another task", job.id)
            return job
        job.refresh_from_db()
        if job.is_finished:
            return job
        ImportJob.objects.filter(id=job.id).update(
            status=ImportJob.Status.RUNNING, started_at=job.started_at or timezone.now(), heartbeat_at=timezone.now())
        batcher = knowledge.EmbeddingBatcher()
        archives = _Archives()
        try:
            for archive in job.files.filter(status=ImportFile.Status.PENDING, archive__isnull=True,
                                            name__iendswith=".zip"):
                _expand_archive(job, archive, archives)
            for file_id in job.files.filter(status=ImportFile.Status.PENDING).values_list("id", flat=True):
                _import_file(job, ImportFile.objects.get(id=file_id), archives, batcher, on_progress)
            batcher.flush()
        except DATABASE_LOST:
            batcher.flush()  # what was committed before the outage is embedded meanwhile (or by the sweep)
            raise
        except Exception as exc:
            logger.exception("import %s failed", job.id)
            ImportJob.objects.filter(id=job.id).update(
                status=ImportJob.Status.FAILED, error=f"the import stopped: {exc}"[:2000], finished_at=timezone.now()
            )
            import_files.discard(job.files.all())
            raise
        finally:
            archives.close()
        with transaction.atomic():
            ImportJob.objects.filter(id=job.id).update(status=ImportJob.Status.DONE, finished_at=timezone.now())
            import_files.discard(job.files.all())
    job.refresh_from_db()
    return job


class _Archives:
    """Uploaded archives copied to local temporary files for this run, opened once each."""

    def __init__(self):
        self.open: dict[int, tuple[Path, zipfile.ZipFile]] = {}

    def get(self, archive: ImportFile) -> zipfile.ZipFile:
        if archive.id not in self.open:
            path = import_files.copy_to_temporary(archive)
            try:
                self.open[archive.id] = (path, zipfile.ZipFile(path))
            except (zipfile.BadZipFile, ValueError, EOFError) as exc:
                import_files.remove(path)
                raise ImportFormatError(f"the ZIP archive cannot be read: {exc}") from exc
        return self.open[archive.id][1]

    def path(self, archive: ImportFile) -> Path:
        self.get(archive)
        return self.open[archive.id][0]

    def close(self) -> None:
        for path, handle in self.open.values():
            handle.close()
            import_files.remove(path)
        self.open.clear()


def _expand_archive(job: ImportJob, archive: ImportFile, archives: _Archives) -> None:
    """Check the whole archive, then record one pending file per member (read from the archive
    when its turn comes), or fail the archive as a whole."""
    try:
        head = import_files.read_head(archive, 4096)
        detect_format(archive.name, head)
        members = zip_importer.scan(archives.path(archive))
    except ImportFormatError as exc:
        _fail(job, archive, [str(exc)])
        return
    with transaction.atomic():
        ImportFile.objects.bulk_create(
            ImportFile(job=job, archive=archive, member=m.name, name=f"{archive.name}/{m.name}"[:1000], size=m.size)
            for m in members
        )
        archive.status, archive.format = ImportFile.Status.EXPANDED, "zip"
        archive.save(update_fields=["status", "format"])
        # The archive itself is no longer a file to import; its members are.
        ImportJob.objects.filter(id=job.id).update(files_total=F("files_total") - 1 + len(members))


def _read(file: ImportFile, archives: _Archives) -> bytes:
    if file.archive_id is None:
        return import_files.read_bytes(file)
    return zip_importer.read_member(archives.get(file.archive), file.member)


def _import_file(job: ImportJob, file: ImportFile, archives: _Archives, batcher, on_progress) -> None:
    try:
        data = _read(file, archives)
        file.format = detect_format(file.name, data)
        records = parse_file(file.name, data)
    except ImportFormatError as exc:
        _fail(job, file, [str(exc)])
        return
    except DATABASE_LOST:
        raise
    except Exception as exc:  # a parser bug must cost one file, not the whole upload
        logger.exception("unexpected error parsing %s", file.name)
        _fail(job, file, [f"the file could not be read ({type(exc).__name__})"])
        return
    del data
    if file.records != len(records):
        file.records = len(records)  # the total, so progress can count records done within the file
        file.save(update_fields=["records", "format"])
    size = max(1, conf.get("IMPORT_BATCH_RECORDS"))
    for start in range(file.records_done, len(records), size):
        batch = records[start:start + size]
        with transaction.atomic():
            outcome = save_records(job=job, records=batch)
            ImportFile.objects.filter(id=file.id).update(
                records_done=start + len(batch), articles_created=F("articles_created") + outcome.created,
                articles_updated=F("articles_updated") + outcome.updated,
                articles_unchanged=F("articles_unchanged") + outcome.unchanged,
            )
            if outcome.errors:
                file.errors = list(file.errors) + outcome.errors
                file.save(update_fields=["errors"])
            ImportJob.objects.filter(id=job.id).update(
                articles_created=F("articles_created") + outcome.created,
                articles_updated=F("articles_updated") + outcome.updated,
                articles_unchanged=F("articles_unchanged") + outcome.unchanged, heartbeat_at=timezone.now(),
            )
        # Passages of unchanged articles still waiting for a vector are the sweep's (queued already).
        batcher.add(knowledge.unembedded_chunks(outcome.changed_ids))
        if on_progress:
            job.refresh_from_db()
            on_progress(job)
    with transaction.atomic():
        ImportFile.objects.filter(id=file.id).update(status=ImportFile.Status.IMPORTED, content=b"")
        ImportJob.objects.filter(id=job.id).update(files_parsed=F("files_parsed") + 1, heartbeat_at=timezone.now())
    if on_progress:
        job.refresh_from_db()
        on_progress(job)


def _fail(job: ImportJob, file: ImportFile, errors: list[str]) -> None:
    with transaction.atomic():
        file.status, file.errors, file.content = ImportFile.Status.FAILED, errors, b""
        file.save(update_fields=["status", "errors", "content", "format"])
        ImportJob.objects.filter(id=job.id).update(files_parsed=F("files_parsed") + 1, files_failed=F("files_failed") + 1,
                                                   heartbeat_at=timezone.now())
        if file.archive_id is None:
            import_files.discard([file])


def _describe(exc: Exception) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    if isinstance(exc, IntegrityError):
        return "another article already has this translation key and locale"
    return str(exc)


def translation_group_for(key: str) -> uuid.UUID:
    """The group id for a translation key: the key itself when it is a UUID (our exports), else a stable hash."""
    try:
        return uuid.UUID(key)
    except ValueError:
        return uuid.uuid5(TRANSLATION_NAMESPACE, key.strip().lower())


def resolve_locale(record: Record) -> str:
    """The record's locale as a BCP 47 tag; detected from its text when not given."""
    if record.locale:
        return to_bcp47(record.locale)
    detection = detect_language(f"{record.title}\n{record.body[:2000]}", fallback=conf.get("DEFAULT_LOCALE"))
    return detection.language or conf.get("DEFAULT_LOCALE")


def find_existing(*, record: Record, locale: str, group: uuid.UUID | None) -> Article | None:
    """The article this record updates: same external id, else same translation group, else same title (same locale)."""
    articles = Article.objects.filter(locale=locale)
    if record.external_id:
        return articles.filter(external_id=record.external_id).order_by("id").first()
    if group is not None:
        return articles.filter(translation_group=group).first()
    return articles.filter(title=record.title.strip(), external_id="").order_by("id").first()


def import_record(*, job: ImportJob, record: Record) -> str:
    """Create or update the record's article; return "created", "updated" or "unchanged"."""
    outcome = Outcome()
    _save_one(job, record, outcome)
    if outcome.errors:
        raise ValueError(outcome.errors[0])
    return "created" if outcome.created else "updated" if outcome.updated else "unchanged"


def save_records(*, job: ImportJob, records: list[Record]) -> Outcome:
    """Create or update the records' articles (inside the caller's transaction) and link them to the job.

    New articles are written in bulk with their passages; updates go through `save_article` one by
    one (they keep unchanged passages' vectors). A record that cannot be saved becomes an error of
    the file, and the rest are saved.
    """
    resolved = [(record, resolve_locale(record)) for record in records]
    try:
        with transaction.atomic():
            outcome = _save_in_bulk(job, resolved)
    except RECORD_ERRORS:
        # Something in the batch is refused: one savepoint per record tells which.
        outcome = Outcome()
        for record, _ in resolved:
            _save_one(job, record, outcome)
    _link(job, outcome.article_ids)
    return outcome


def _save_one(job: ImportJob, record: Record, outcome: Outcome) -> None:
    try:
        with transaction.atomic():
            locale = resolve_locale(record)
            group = translation_group_for(record.translation_key) if record.translation_key else None
            existing = find_existing(record=record, locale=locale, group=group)
            status = _status(job, record, existing)
            if existing is not None and _same(existing, record, status=status, group=group):
                outcome.unchanged += 1
                outcome.article_ids.append(existing.id)
                return
            article = save_article(
                article=existing, title=record.title, body=record.body, locale=locale, status=status,
                category=record.category if record.category is not None else (None if existing else ""),
                translation_group=group, external_id=record.external_id, queue_embedding=False,
            )
    except RECORD_ERRORS as exc:
        outcome.errors.append(f"{record.where + ': ' if record.where else ''}{_describe(exc)}")
        return
    outcome.article_ids.append(article.id)
    outcome.changed_ids.append(article.id)
    if existing is not None:
        outcome.updated += 1
    else:
        outcome.created += 1


def _status(job: ImportJob, record: Record, existing: Article | None) -> str:
    return record.status or (existing.status if existing else
                             (Article.Status.PUBLISHED if job.publish else Article.Status.DRAFT))


def _save_in_bulk(job: ImportJob, resolved: list[tuple[Record, str]]) -> Outcome:
    """The batch's lookups in three queries, its new articles and passages in a few inserts."""
    outcome = Outcome()
    keyed = []
    for record, locale in resolved:
        if len(locale) > 35:
            raise ValueError(f"locale: {locale!r} is longer than 35 characters")
        group = translation_group_for(record.translation_key) if record.translation_key else None
        if record.external_id:
            key = ("ext", locale, record.external_id)
        elif group is not None:
            key = ("group", locale, group)
        else:
            key = ("title", locale, record.title.strip())
        keyed.append((record, locale, group, key))
    known = _existing_by_key([k for *_, k in keyed])
    new: list[Article] = []
    seen: set = set()
    now = timezone.now()
    for record, locale, group, key in keyed:
        keys = {key} | ({("group", locale, group)} if group is not None else set())
        if keys & seen:
            # The same article twice in one batch: write what is pending, then take it in order.
            _create(new, outcome)
            new = []
            _save_one(job, record, outcome)
            continue
        seen |= keys
        existing = known.get(key)
        status = _status(job, record, existing)
        if existing is not None:
            if _same(existing, record, status=status, group=group):
                outcome.unchanged += 1
                outcome.article_ids.append(existing.id)
            else:
                _save_one(job, record, outcome)
            continue
        new.append(Article(
            title=record.title.strip(), body=record.body.strip(), locale=locale, status=status,
            category=record.category or "", external_id=record.external_id or "",
            translation_group=group or uuid.uuid4(),
            published_at=now if status == Article.Status.PUBLISHED else None,
        ))
    _create(new, outcome)
    return outcome


def _existing_by_key(keys: list[tuple]) -> dict[tuple, Article]:
    found: dict[tuple, Article] = {}
    ext = {k[2] for k in keys if k[0] == "ext"}
    groups = {k[2] for k in keys if k[0] == "group"}
    titles = {k[2] for k in keys if k[0] == "title"}
    if ext:
        for article in Article.objects.filter(external_id__in=ext).order_by("-id"):
            found[("ext", article.locale, article.external_id)] = article  # the oldest wins, as find_existing
    if groups:
        for article in Article.objects.filter(translation_group__in=groups):
            found[("group", article.locale, article.translation_group)] = article
    if titles:
        for article in Article.objects.filter(title__in=titles, external_id="").order_by("-id"):
            found[("title", article.locale, article.title)] = article
    return found


def _create(articles: list[Article], outcome: Outcome) -> None:
    """Insert new articles, their passages and the passages' search vectors: two statements whose
    columns travel as arrays (unnest), rather than an INSERT with a parameter per value — the
    difference between ~150 and ~300 articles/s on the 2-core machine."""
    if not articles:
        return
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO helpdesk_article (title, body, locale, translation_group, status, category, external_id,"
            " created_at, updated_at, published_at, chunked_with)"
            " SELECT t, b, l, g, s, c, e, %s, %s, p, %s FROM unnest(%s::text[], %s::text[], %s::text[], %s::uuid[],"
            " %s::text[], %s::text[], %s::text[], %s::timestamptz[]) WITH ORDINALITY AS u(t, b, l, g, s, c, e, p, n)"
            " ORDER BY n RETURNING id",
            [now, now, knowledge.current_chunking(),
             *_columns([(a.title, a.body, a.locale, a.translation_group, a.status, a.category, a.external_id,
                         a.published_at) for a in articles], 8)],
        )
        for article, (article_id,) in zip(articles, cursor.fetchall()):
            article.id, article.created_at, article.updated_at = article_id, now, now
        words, titles = conf.get("CHUNK_WORDS"), conf.get("TITLE_PASSAGE")
        rows = [(article.id, p.ordinal, p.text, p.body, p.content_hash, article.locale,
                 lexical.text_search_config(article.locale), lexical.segment(p.text))
                for article in articles
                for p in chunk_article(article.title, article.body, max_words=words, title_passage=titles)]
        cursor.execute(
            "INSERT INTO helpdesk_chunk (article_id, ordinal, text, passage, content_hash, language, search_vector,"
            " encoder, next_encoder, embed_attempts, embed_error, created_at, updated_at)"
            " SELECT a, o, t, p, h, l, to_tsvector(cfg::regconfig, seg), '', '', 0, '', %s, %s"
            " FROM unnest(%s::bigint[], %s::int[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],"
            " %s::text[]) AS u(a, o, t, p, h, l, cfg, seg)",
            [now, now, *_columns(rows, 8)],
        )
    suggestion_cache.kb_changed()  # what save_article says for one article, once for the batch
    outcome.created += len(articles)
    outcome.article_ids.extend(a.id for a in articles)
    outcome.changed_ids.extend(a.id for a in articles)


def _columns(rows: list[tuple], width: int) -> list[list]:
    """Rows as column lists (psycopg sends a list as an array, a tuple as a record)."""
    return [list(column) for column in zip(*rows)] if rows else [[] for _ in range(width)]


def _link(job: ImportJob, article_ids: list[int]) -> None:
    through = ImportJob.articles.through
    through.objects.bulk_create([through(importjob_id=job.id, article_id=a) for a in dict.fromkeys(article_ids)],
                                ignore_conflicts=True)


def _same(article: Article, record: Record, *, status: str, group: uuid.UUID | None) -> bool:
    return (
        article.title == record.title.strip()
        and article.body == record.body.strip()
        and article.status == status
        and (record.category is None or article.category == record.category)
        and (group is None or article.translation_group == group)
        and (record.external_id is None or article.external_id == record.external_id)
    )
