"""Writes for outgoing email: queue a reply or an acknowledgement, send it once, retry, sweep.

Delivery is a state machine on the OutboundEmail row, moved under a row lock:

    QUEUED ──claim──► SENDING ──► SENT
       ▲                 │
       └── transient ────┤ (connection refused, 4xx; with exponential backoff, HELPDESK["EMAIL_MAX_ATTEMPTS"])
                         └──► FAILED (5xx, attempts used up, or uncertain) ──agent's Retry──► QUEUED

The claim is committed before the SMTP conversation starts, so a second run of the task (a
duplicate message, a retry, the sweep) finds SENDING or SENT and sends nothing. A failure after the
message was handed to the server (the connection broke before its answer) is *uncertain*: it may
have been delivered, so it is never retried automatically; it is marked failed with that said, and an
agent decides (a Retry sends the same Message-ID, which mail clients show once).
"""

from __future__ import annotations

import logging
import random
import smtplib
from dataclasses import dataclass
from datetime import timedelta

from email.header import decode_header, make_header

from django.core.mail import get_connection
from django.db import transaction
from django.utils import timezone

from helpdesk import conf
from helpdesk.mail_compose import compose, email_language, new_message_id
from helpdesk.models import Event, Message, OutboundEmail, Ticket


def _readable(address: str) -> str:
    """An address as people read it: a display name MIME-encoded for the wire ("=?utf-8?b?…?=") decoded."""
    try:
        return str(make_header(decode_header(address)))
    except (ValueError, LookupError, UnicodeDecodeError):
        return address

logger = logging.getLogger(__name__)

UNCERTAIN = ("Uncertain: the connection ended after the message was handed to the mail server, so it may "
             "have been delivered. Not retried automatically. ")
LOST_AFTER = timedelta(minutes=2)


@dataclass
class Delivery:
    status: str                  # the row's status after this call
    sent: bool = False           # this call sent the email
    retry_in: float | None = None  # seconds until the next attempt, after a transient failure
    detail: str = ""


# --- queueing -------------------------------------------------------------------------------------

def queue_reply(*, message: Message) -> OutboundEmail | None:
    """Queue the email of an agent's public reply, sent after commit; notes and others: None.

    Idempotent: the same message always maps to the same OutboundEmail (key "reply:<id>").
    """
    if message.author_kind != Message.Author.AGENT or message.visibility != Message.Visibility.PUBLIC:
        return None
    ticket = message.ticket
    if not ticket.requester_email:
        return None
    with transaction.atomic():
        email, created = OutboundEmail.objects.get_or_create(
            idempotency_key=f"reply:{message.pk}",
            defaults={"ticket": ticket, "message": message, "kind": OutboundEmail.Kind.REPLY,
                      "email_message_id": new_message_id(ticket.pk), "to_address": ticket.requester_email},
        )
        if created:
            Message.objects.filter(pk=message.pk).update(email_message_id=email.email_message_id)
            message.email_message_id = email.email_message_id
            _send_after_commit(email.pk)
    return email


def queue_acknowledgement(ticket_id: int) -> OutboundEmail | None:
    """Queue the acknowledgement of a new ticket (at most one per ticket), sent after commit.

    The inbound-email service calls this for tickets created by email; the widget's ticket form
    calls it too. Returns None when admins turned acknowledgements off or nobody can receive it.
    The suggested articles are chosen by the worker (the suggestion engine is not run here).
    """
    from helpdesk.services.desk_settings import acknowledgement_settings

    if not acknowledgement_settings().enabled:
        return None
    ticket = Ticket.objects.filter(pk=ticket_id).only("id", "requester_email").first()
    if ticket is None or not ticket.requester_email:
        return None
    with transaction.atomic():
        email, created = OutboundEmail.objects.get_or_create(
            idempotency_key=f"ack:{ticket.pk}",
            defaults={"ticket": ticket, "kind": OutboundEmail.Kind.ACKNOWLEDGEMENT,
                      "email_message_id": new_message_id(ticket.pk), "to_address": ticket.requester_email},
        )
        if created:
            _send_after_commit(email.pk)
    return email


def retry_email(*, email_id: int) -> bool:
    """Queue a failed email again (an agent's Retry); False when it is not failed (already queued, sent)."""
    with transaction.atomic():
        email = OutboundEmail.objects.select_for_update().filter(pk=email_id).first()
        if email is None or email.status != OutboundEmail.Status.FAILED:
            return False
        email.status = OutboundEmail.Status.QUEUED
        email.attempts = 0
        email.next_attempt_at = None
        email.claimed_at = None
        email.save(update_fields=["status", "attempts", "next_attempt_at", "claimed_at", "updated_at"])
        _send_after_commit(email.pk)
    return True


def _send_after_commit(email_id: int) -> None:
    """Queue the send task once committed; a broker outage leaves the row QUEUED for the sweep."""
    from kombu.exceptions import OperationalError as BrokerError

    from helpdesk import tasks_email

    def send():
        try:
            tasks_email.send_email.delay(email_id)
        except BrokerError as exc:
            logger.warning("broker unreachable, email %s waits for the sweep: %s", email_id, exc)

    transaction.on_commit(send)


# --- sending --------------------------------------------------------------------------------------

def deliver(*, email_id: int) -> Delivery:
    """Send one queued email at most once; return what happened (see the module docstring)."""
    email = (OutboundEmail.objects.select_related("ticket", "message__author").filter(pk=email_id).first())
    if email is None:
        return Delivery("missing", detail="no such email")
    if email.status != OutboundEmail.Status.QUEUED:
        return Delivery(email.status, detail="nothing to do")
    if email.kind == OutboundEmail.Kind.ACKNOWLEDGEMENT and email.articles is None:
        _choose_articles(email)
    email.language = email.language or email_language(email.ticket.language)
    try:
        message = compose(email)
    except Exception as exc:  # a template or data problem: retrying would fail the same way
        logger.exception("email %s could not be composed", email_id)
        return _fail_unclaimed(email_id, f"Could not compose the email: {exc}")

    with transaction.atomic():
        row = OutboundEmail.objects.select_for_update().get(pk=email_id)
        if row.status != OutboundEmail.Status.QUEUED:
            return Delivery(row.status, detail="another run has it")
        row.status = OutboundEmail.Status.SENDING
        row.claimed_at = timezone.now()
        row.attempts += 1
        row.subject = message.subject[:400]
        row.language = email.language
        row.to_address = ", ".join(_readable(address) for address in message.to)[:320]
        row.save(update_fields=["status", "claimed_at", "attempts", "subject", "language", "to_address",
                                "updated_at"])

    connection = get_connection(fail_silently=False)
    try:
        connection.open()
    except Exception as exc:  # nothing was handed over yet
        return _after_failure(email_id, exc, transient=_is_transient(exc))
    try:
        sent = connection.send_messages([message])
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        return _after_failure(email_id, exc, transient=bool(codes) and all(400 <= c < 500 for c in codes))
    except smtplib.SMTPResponseException as exc:  # the server answered no: it did not take the message
        return _after_failure(email_id, exc, transient=400 <= exc.smtp_code < 500)
    except Exception as exc:  # disconnected or timed out mid-conversation: maybe delivered
        return _after_failure(email_id, exc, uncertain=True)
    finally:
        try:
            connection.close()
        except Exception:  # noqa: BLE001 - closing a broken connection tells nothing new
            pass
    if not sent:
        return _after_failure(email_id, ValueError("the mail backend accepted no recipient"), transient=False)
    return _mark_sent(email_id)


def _is_transient(exc: Exception) -> bool:
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    return True  # refused, unreachable, timed out: worth another try


def _error_text(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {detail}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{rcpt}: {code} {msg.decode('utf-8', 'replace') if isinstance(msg, bytes) else msg}"
                         for rcpt, (code, msg) in exc.recipients.items())
    return f"{type(exc).__name__}: {exc}"


def backoff_seconds(attempts: int) -> float:
    """Delay before attempt `attempts + 1`: doubling from EMAIL_RETRY_BACKOFF, capped, jittered."""
    delay = min(conf.get("EMAIL_RETRY_BACKOFF_MAX"), conf.get("EMAIL_RETRY_BACKOFF") * 2 ** max(0, attempts - 1))
    return random.uniform(delay / 2, delay)


def _after_failure(email_id: int, exc: Exception, *, transient: bool = False, uncertain: bool = False) -> Delivery:
    text = _error_text(exc)
    logger.warning("email %s: %s%s", email_id, "uncertain, " if uncertain else "", text)
    with transaction.atomic():
        row = OutboundEmail.objects.select_for_update().get(pk=email_id)
        if row.status != OutboundEmail.Status.SENDING:
            return Delivery(row.status, detail="changed meanwhile")
        row.last_error = (UNCERTAIN + text) if uncertain else text
        retry_in = None
        if transient and not uncertain and row.attempts < conf.get("EMAIL_MAX_ATTEMPTS"):
            retry_in = backoff_seconds(row.attempts)
            row.status = OutboundEmail.Status.QUEUED
            row.next_attempt_at = timezone.now() + timedelta(seconds=retry_in)
        else:
            row.status = OutboundEmail.Status.FAILED
            row.next_attempt_at = None
        row.save(update_fields=["status", "last_error", "next_attempt_at", "updated_at"])
    return Delivery(row.status, retry_in=retry_in, detail=row.last_error)


def _fail_unclaimed(email_id: int, text: str) -> Delivery:
    with transaction.atomic():
        row = OutboundEmail.objects.select_for_update().get(pk=email_id)
        if row.status == OutboundEmail.Status.QUEUED:
            row.status = OutboundEmail.Status.FAILED
            row.last_error = text[:2000]
            row.save(update_fields=["status", "last_error", "updated_at"])
    return Delivery(row.status, detail=text)


def _mark_sent(email_id: int) -> Delivery:
    now = timezone.now()
    with transaction.atomic():
        row = OutboundEmail.objects.select_for_update().select_related("ticket").get(pk=email_id)
        row.status = OutboundEmail.Status.SENT
        row.sent_at = now
        row.last_error = ""
        row.next_attempt_at = None
        row.save(update_fields=["status", "sent_at", "last_error", "next_attempt_at", "updated_at"])
        if row.kind == OutboundEmail.Kind.ACKNOWLEDGEMENT:
            Event.objects.create(kind=Event.Kind.ACKNOWLEDGEMENT_SENT, ticket=row.ticket,
                                 widget_session_id=row.ticket.widget_session_id, language=row.ticket.language,
                                 data={"email": row.pk, "articles": list(row.articles or [])}, created_at=now)
    return Delivery(OutboundEmail.Status.SENT, sent=True)


def _choose_articles(email: OutboundEmail) -> None:
    """Pick the acknowledgement's articles once: confident suggestions for the ticket, minus any the
    customer already saw in the widget before filing it."""
    from helpdesk.selectors.suggestions import find_ticket_suggestions
    from helpdesk.services.desk_settings import acknowledgement_settings

    ids: list[int] = []
    limit = int(conf.get("ACKNOWLEDGEMENT_SUGGESTIONS") or 0)
    if limit > 0 and acknowledgement_settings().suggestions:
        seen: set[int] = set()
        for data in Event.objects.filter(ticket_id=email.ticket_id, kind=Event.Kind.TICKET_FILED).values_list(
                "data", flat=True):
            seen.update((data or {}).get("articles_opened", []))
            seen.update((data or {}).get("articles_shown", []))
        try:
            result = find_ticket_suggestions(ticket=email.ticket, limit=limit + len(seen))
            ids = [s.article_id for s in result.confident if s.article_id not in seen][:limit]
        except Exception:  # noqa: BLE001 - the acknowledgement still goes out, without articles
            logger.exception("suggestions for the acknowledgement of ticket %s failed", email.ticket_id)
    OutboundEmail.objects.filter(pk=email.pk, articles__isnull=True).update(articles=ids)
    email.refresh_from_db(fields=["articles"])


# --- the sweep ------------------------------------------------------------------------------------

def sweep_outbound(*, now=None) -> dict:
    """Queue again what a lost task left QUEUED; call sends stuck in SENDING uncertain (failed)."""
    from helpdesk import tasks_email

    now = now or timezone.now()
    stuck_before = now - timedelta(seconds=conf.get("EMAIL_SENDING_TIMEOUT"))
    uncertain = OutboundEmail.objects.filter(status=OutboundEmail.Status.SENDING, claimed_at__lt=stuck_before).update(
        status=OutboundEmail.Status.FAILED, updated_at=now,
        last_error=UNCERTAIN + "The sending worker stopped before it recorded the result.")
    lost_before = now - LOST_AFTER
    lost = list(OutboundEmail.objects.filter(status=OutboundEmail.Status.QUEUED, updated_at__lt=lost_before)
                .filter(next_attempt_at__isnull=True).values_list("pk", flat=True)[:500])
    lost += list(OutboundEmail.objects.filter(status=OutboundEmail.Status.QUEUED, next_attempt_at__lt=lost_before)
                 .values_list("pk", flat=True)[:500])
    for email_id in lost:
        tasks_email.send_email.delay(email_id)
    return {"requeued": len(lost), "uncertain": uncertain}
