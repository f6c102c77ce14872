"""Celery tasks for inbound email (registered through `helpdesk.tasks`): poll IMAP, process a stored
message, sweep up stragglers."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from helpdesk import conf

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=(OperationalError,),
             retry_backoff=True, max_retries=5)
def process_inbound_email(inbound_id: int) -> str:
    """Turn one stored message into a ticket or a message (safe to run twice); return its state."""
    from helpdesk.services.inbound_email import process_inbound

    return process_inbound(inbound_id).state


@shared_task(acks_late=True)
def poll_imap() -> int:
    """Store the configured IMAP folder's new mail (each queued for processing); return how many.

    Scheduled by beat every IMAP_POLL_SECONDS when IMAP_URL is set; a connection failure is logged
    and retried at the next tick (the mail waits on the server, unseen).
    """
    from helpdesk.inbound import imap
    from helpdesk.services.inbound_email import store_raw

    url = conf.get("IMAP_URL")
    if not url:
        return 0
    settings = imap.ImapSettings.from_url(url)
    try:
        return imap.poll(settings, batch=conf.get("IMAP_BATCH"), processed_folder=conf.get("IMAP_PROCESSED_FOLDER"),
                         store=lambda raw, ref: store_raw(raw=raw, source="imap", source_ref=ref))
    except (OSError, imap.imaplib.IMAP4.error) as exc:
        logger.warning("IMAP poll of %s failed: %s", imap.describe(settings), exc)
        return 0


@shared_task(acks_late=True)
def sweep_inbound_email(min_age_seconds: int = 120, limit: int = 500) -> int:
    """Queue stored messages nobody processed (broker outage, killed worker); return how many."""
    from helpdesk.models import InboundEmail
    from helpdesk.services.inbound_email import queue_processing

    cutoff = timezone.now() - timedelta(seconds=min_age_seconds)
    ids = list(InboundEmail.objects.filter(state=InboundEmail.State.STORED, received_at__lt=cutoff)
               .order_by("id").values_list("id", flat=True)[:limit])
    for inbound_id in ids:
        queue_processing(inbound_id)
    return len(ids)
