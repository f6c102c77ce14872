"""Celery tasks for knowledge-base imports (registered through `helpdesk.tasks`)."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from helpdesk.services import imports


# The service itself waits out a database outage (IMPORT_DB_RETRY_SECONDS); a job whose task is lost
# altogether — a killed worker, a broker that lost the message — is queued again by `sweep_imports`.
@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=(OperationalError, InterfaceError),
             retry_backoff=True, retry_backoff_max=60, max_retries=3)
def run_import(job_id: int) -> int:
    """Process an upload; progress and the per-file report live in its ImportJob/ImportFile rows."""
    return imports.run_import(job_id=job_id).id


@shared_task(acks_late=True)
def sweep_imports() -> list[int]:
    """Queue again imports that are queued or running but that no task holds (see services.imports)."""
    return imports.requeue_stranded()
