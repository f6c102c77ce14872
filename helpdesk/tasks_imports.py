"""Celery task for knowledge-base imports (registered through `helpdesk.tasks`)."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from helpdesk.services import imports


@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def run_import(job_id: int) -> int:
    """Process an upload; progress and the per-file report live in its ImportJob/ImportFile rows."""
    return imports.run_import(job_id=job_id).id
