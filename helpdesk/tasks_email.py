"""Celery tasks for outgoing email (registered through `helpdesk.tasks`)."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from helpdesk.services import email_out


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None,
             autoretry_for=(OperationalError,), retry_backoff=True)
def send_email(self, email_id: int) -> str:
    """Send one OutboundEmail at most once; a transient SMTP failure retries with exponential backoff
    (the attempt count and the next attempt's time live on the row, not in the broker)."""
    outcome = email_out.deliver(email_id=email_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(acks_late=True)
def sweep_outbound_email() -> dict:
    """Requeue emails whose task was lost; mark sends a dead worker left half-done as uncertain."""
    return email_out.sweep_outbound()
