"""Reads for the upload pages: an import's live progress and the recent imports."""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk.encoders import active_encoder_name
from helpdesk.models import Chunk, ImportFile, ImportJob


@dataclass(frozen=True)
class ImportProgress:
    job: ImportJob
    files: list[ImportFile]
    chunks_total: int
    chunks_embedded: int
    # Within files being imported now: records in them, and records already written.
    records_in_progress: int = 0
    records_done_in_progress: int = 0

    @property
    def embedding_done(self) -> bool:
        return self.chunks_embedded >= self.chunks_total

    @property
    def is_complete(self) -> bool:
        """Finished parsing and, if it succeeded, every passage embedded: polling can stop."""
        return self.job.status == ImportJob.Status.FAILED or (self.job.is_finished and self.embedding_done)

    @property
    def percent(self) -> int:
        """A single progress figure: parsing counts for half, embedding for the other half."""
        job = self.job
        partial = self.records_done_in_progress / self.records_in_progress if self.records_in_progress else 0.0
        parsed = ((job.files_parsed + partial) / job.files_total if job.files_total
                  else (1.0 if job.is_finished else 0.0))
        embedded = self.chunks_embedded / self.chunks_total if self.chunks_total else (1.0 if job.is_finished else 0.0)
        return 100 if self.is_complete else min(99, int(50 * parsed + 50 * embedded))

    def as_dict(self) -> dict:
        job = self.job
        return {
            "id": job.id, "status": job.status, "complete": self.is_complete, "percent": self.percent,
            "files_total": job.files_total, "files_parsed": job.files_parsed, "files_failed": job.files_failed,
            "articles_created": job.articles_created, "articles_updated": job.articles_updated,
            "articles_unchanged": job.articles_unchanged, "chunks_total": self.chunks_total,
            "chunks_embedded": self.chunks_embedded, "error": job.error,
            "records_in_progress": self.records_in_progress, "records_done_in_progress": self.records_done_in_progress,
            "files": [{"name": f.name, "format": f.format, "status": f.status, "records": f.records,
                       "created": f.articles_created, "updated": f.articles_updated,
                       "unchanged": f.articles_unchanged, "errors": f.errors} for f in self.files],
        }


def import_progress(job: ImportJob) -> ImportProgress:
    """Counts from the job's rows (written in the same transactions as the articles they count), plus
    how many of its articles' passages the active encoder has embedded."""
    from django.db.models import Sum

    job.refresh_from_db()
    chunks = Chunk.objects.filter(article__imports=job)
    in_progress = job.files.filter(status=ImportFile.Status.PENDING, records__gt=0).aggregate(
        records=Sum("records"), done=Sum("records_done"))
    return ImportProgress(
        records_in_progress=in_progress["records"] or 0, records_done_in_progress=in_progress["done"] or 0,
        job=job,
        files=list(job.files.exclude(status=ImportFile.Status.EXPANDED).defer("content").order_by("id")[:1000]),
        chunks_total=chunks.count(),
        # Embedded = found by queries: the active encoder's vectors (the old one's while switching model).
        chunks_embedded=chunks.filter(encoder=active_encoder_name()).count(),
    )


def recent_imports(*, limit: int = 10) -> list[ImportJob]:
    return list(ImportJob.objects.select_related("created_by").order_by("-created_at")[:limit])
