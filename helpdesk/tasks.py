"""Celery tasks: thin wrappers that take ids and call one service."""

from __future__ import annotations

import logging

from datetime import timedelta

from amqp.exceptions import ChannelError
from celery import current_app, shared_task
from django.db import InterfaceError, OperationalError

from helpdesk.services import knowledge

logger = logging.getLogger(__name__)
# Articles the sweep splits again per run after the chunking settings changed (a few queries each).
RECHUNK_PER_SWEEP = 2000


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    # A database outage of minutes: retried with backoff (1 s doubling, at most a minute apart, about
    # 8 minutes in all); anything still unembedded after that is the sweep's.
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=12,
)
def embed_chunks(chunk_ids: list[int]) -> int:
    """Embed a bounded batch of chunks (safe to run twice: embedded ones are skipped)."""
    return knowledge.embed_chunks(chunk_ids=list(chunk_ids))


def _waiting(queue: str) -> int:
    """Messages waiting in a broker queue (0 when the queue does not exist yet)."""
    with current_app.connection_for_write() as conn:
        try:
            return conn.default_channel.queue_declare(queue=queue, passive=True).message_count
        except ChannelError:
            return 0


@shared_task(acks_late=True)
def sweep_unembedded(min_age_seconds: int = 120) -> int:
    """Queue every chunk the configured encoder has not embedded yet (lost messages, killed workers,
    a new model); return how many were queued.

    While the embeddings queue still holds work, the backlog is being handled: queue nothing more.
    A switch of encoder whose new vectors are all written completes here (see services.encoders).
    """
    from helpdesk import vectors
    from helpdesk.encoders import configured_dimensions
    from helpdesk.services import encoders as switch

    # A newly configured model needs its own index; built here, outside any request, without
    # blocking writers.
    vectors.ensure_index(configured_dimensions(), concurrently=True)
    switch.complete_encoder_switch()
    switch.drop_stale_staged_vectors()
    if _waiting("embeddings"):
        return 0
    # Articles split under other settings or an older chunker (an upgrade): a bounded share per
    # sweep, their new passages queued like any other.
    rechunked, passages = knowledge.rechunk_stale(limit=RECHUNK_PER_SWEEP)
    if rechunked:
        logger.info("sweep: %d articles split again, %d passages new or changed", rechunked, passages)
    pending = knowledge.pending_chunk_ids(limit=50_000, older_than=timedelta(seconds=min_age_seconds))
    if pending:
        logger.info("sweep: %d chunks waiting to be embedded", len(pending))
        knowledge.queue_batches(pending)
    return len(pending)


from helpdesk.tasks_imports import run_import, sweep_imports  # noqa: E402,F401  (registers the import task with the worker)
from helpdesk.tasks_email import send_email, sweep_outbound_email  # noqa: E402,F401  (and the email tasks)
from helpdesk.tasks_inbound import poll_imap, process_inbound_email, sweep_inbound_email  # noqa: E402,F401


@shared_task(acks_late=True)
def suggest_for_ticket(ticket_id: int, since: str | None = None) -> int:
    """Compute and record a ticket's suggestions after a customer writes, so the queue can show
    whether a good answer exists before an agent opens it. Safe to run twice (reuses the batch
    recorded since the latest customer message, or since `since`, an ISO time, when later: e.g. the
    moment the knowledge base finished embedding); a deleted ticket is skipped."""
    from django.utils.dateparse import parse_datetime

    from helpdesk.models import Ticket
    from helpdesk.selectors.queue import latest_customer_message
    from helpdesk.services.feedback import show_ticket_suggestions

    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        return 0
    latest = latest_customer_message(ticket)
    floor = [t for t in (latest.created_at if latest else None, parse_datetime(since) if since else None) if t]
    return len(show_ticket_suggestions(ticket=ticket, since=max(floor) if floor else None))
