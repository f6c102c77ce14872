"""Knowledge-base imports: accept an upload, then parse, clean, match and save its articles.

Atomicity: every article is written in its own transaction together with its passages (through
`save_article`), and embedding is queued only after that commit. A file is parsed and validated in
full before any of its articles is written, so a malformed file changes nothing. Customers therefore
never see a half-written article; if the worker dies mid-upload the task runs again (acks_late),
finished files are skipped and already-written articles compare as unchanged.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Callable, Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from embeddings.language import detect_language, to_bcp47
from helpdesk import conf
from helpdesk.importers import ImportFormatError, Record, detect_format, parse_file
from helpdesk.importers import zip as zip_importer
from helpdesk.models import Article, ImportFile, ImportJob
from helpdesk.services.knowledge import save_article

logger = logging.getLogger(__name__)

# Translation keys that are not UUIDs map to a stable group id, so re-uploads land in the same group.
TRANSLATION_NAMESPACE = uuid.UUID("5d0c8f5e-2c1b-4a4e-9a53-6c7a2f1e9b10")


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
    *, files: Iterable[tuple[str, bytes]], user=None, publish: bool = True, source: str = "", queue: bool = True
) -> ImportJob:
    """Record an upload and queue its processing after commit (`queue=False`: the caller runs it);
    raise UploadRejected over the limits."""
    from helpdesk import tasks_imports

    files = list(files)
    problems = check_upload_limits([(name, len(data)) for name, data in files])
    if problems:
        raise UploadRejected(problems)
    with transaction.atomic():
        job = ImportJob.objects.create(created_by=user, publish=publish, source=source[:300], files_total=len(files))
        ImportFile.objects.bulk_create(
            ImportFile(job=job, name=name[:1000], size=len(data), content=data) for name, data in files
        )
        if queue:
            tasks_imports.run_import.delay_on_commit(job.id)
    return job


def run_import(*, job_id: int, on_progress: Callable[[ImportJob], None] | None = None) -> ImportJob:
    """Process every pending file of the job; safe to run again after an interruption."""
    job = ImportJob.objects.get(id=job_id)
    if job.is_finished:
        return job
    ImportJob.objects.filter(id=job.id).update(status=ImportJob.Status.RUNNING, started_at=job.started_at or timezone.now())
    try:
        expanded = set(job.files.filter(status=ImportFile.Status.EXPANDED).values_list("name", flat=True))
        for archive in job.files.filter(status=ImportFile.Status.PENDING, name__iendswith=".zip"):
            # An archive inside an archive is not opened: it is reported as a file of its own.
            if not any(archive.name.startswith(f"{parent}/") for parent in expanded):
                _expand_archive(job, archive)
                expanded.add(archive.name)
        for file_id in job.files.filter(status=ImportFile.Status.PENDING).values_list("id", flat=True):
            _import_file(job, ImportFile.objects.get(id=file_id))
            if on_progress:
                job.refresh_from_db()
                on_progress(job)
    except OperationalError:
        raise  # the database went away: the task is retried and carries on where it stopped
    except Exception as exc:
        logger.exception("import %s failed", job.id)
        ImportJob.objects.filter(id=job.id).update(
            status=ImportJob.Status.FAILED, error=f"the import stopped: {exc}"[:2000], finished_at=timezone.now()
        )
        raise
    ImportJob.objects.filter(id=job.id).update(status=ImportJob.Status.DONE, finished_at=timezone.now())
    job.refresh_from_db()
    return job


def _expand_archive(job: ImportJob, archive: ImportFile) -> None:
    """Replace an uploaded ZIP by one pending file per member (or fail the archive as a whole)."""
    try:
        detect_format(archive.name, bytes(archive.content))
        members = zip_importer.expand(bytes(archive.content))
    except ImportFormatError as exc:
        _fail(job, archive, [str(exc)])
        return
    with transaction.atomic():
        ImportFile.objects.bulk_create(
            ImportFile(job=job, name=f"{archive.name}/{m.name}"[:1000], size=len(m.data), content=m.data) for m in members
        )
        archive.status, archive.format, archive.content = ImportFile.Status.EXPANDED, "zip", b""
        archive.save(update_fields=["status", "format", "content"])
        # The archive itself is no longer a file to import; its members are.
        ImportJob.objects.filter(id=job.id).update(files_total=F("files_total") - 1 + len(members))


def _import_file(job: ImportJob, file: ImportFile) -> None:
    data = bytes(file.content)
    try:
        file.format = detect_format(file.name, data)
        records = parse_file(file.name, data)
    except ImportFormatError as exc:
        _fail(job, file, [str(exc)])
        return
    except Exception as exc:  # a parser bug must cost one file, not the whole upload
        logger.exception("unexpected error parsing %s", file.name)
        _fail(job, file, [f"the file could not be read ({type(exc).__name__})"])
        return
    outcome, errors = Outcome(), []
    for record in records:
        try:
            result = import_record(job=job, record=record)
        except (IntegrityError, ValidationError, ValueError) as exc:
            errors.append(f"{record.where + ': ' if record.where else ''}{_describe(exc)}")
            continue
        setattr(outcome, result, getattr(outcome, result) + 1)
    file.status, file.records, file.errors, file.content = ImportFile.Status.IMPORTED, len(records), errors, b""
    file.articles_created, file.articles_updated, file.articles_unchanged = outcome.created, outcome.updated, outcome.unchanged
    file.save()
    ImportJob.objects.filter(id=job.id).update(
        files_parsed=F("files_parsed") + 1, articles_created=F("articles_created") + outcome.created,
        articles_updated=F("articles_updated") + outcome.updated,
        articles_unchanged=F("articles_unchanged") + outcome.unchanged,
    )


def _fail(job: ImportJob, file: ImportFile, errors: list[str]) -> None:
    file.status, file.errors, file.content = ImportFile.Status.FAILED, errors, b""
    file.save(update_fields=["status", "errors", "content", "format"])
    ImportJob.objects.filter(id=job.id).update(files_parsed=F("files_parsed") + 1, files_failed=F("files_failed") + 1)


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
    locale = resolve_locale(record)
    group = translation_group_for(record.translation_key) if record.translation_key else None
    existing = find_existing(record=record, locale=locale, group=group)
    status = record.status or (existing.status if existing else (Article.Status.PUBLISHED if job.publish else Article.Status.DRAFT))
    if existing is not None and _same(existing, record, status=status, group=group):
        job.articles.add(existing)
        return "unchanged"
    with transaction.atomic():
        article = save_article(
            article=existing, title=record.title, body=record.body, locale=locale, status=status,
            category=record.category if record.category is not None else (None if existing else ""),
            translation_group=group, external_id=record.external_id,
        )
        job.articles.add(article)
    return "updated" if existing else "created"


def _same(article: Article, record: Record, *, status: str, group: uuid.UUID | None) -> bool:
    return (
        article.title == record.title.strip()
        and article.body == record.body.strip()
        and article.status == status
        and (record.category is None or article.category == record.category)
        and (group is None or article.translation_group == group)
        and (record.external_id is None or article.external_id == record.external_id)
    )
