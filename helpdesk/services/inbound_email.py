"""Inbound email → tickets and messages: one service behind IMAP polling, webhooks and the MTA pipe.

`store_raw` keeps the bytes first (idempotent by SHA-256, so a message fetched twice after a crash is
stored once); `process_inbound` then parses, screens, threads and writes, in its own transaction, and
records the outcome on the row: processed, ignored (with why) or failed (with the error). Nothing is
lost: a failed or ignored message can be re-processed (`reprocess_inbound`).
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import traceback
from email.utils import getaddresses

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from helpdesk import conf, mail_tokens, throttling
from helpdesk.importers.cleaning import normalize_text
from helpdesk.inbound import replies, screening
from helpdesk.inbound.parsing import Attachment, ParsedEmail, parse_email
from helpdesk.models import EmailAttachment, InboundEmail, Message, Ticket
from helpdesk.services.email_out import queue_acknowledgement
from helpdesk.services.tickets import open_ticket, post_message

logger = logging.getLogger(__name__)

State, Reason = InboundEmail.State, InboundEmail.Reason
# Never stored, whatever type the sender declared: programs and scripts a click would run.
REFUSED_EXTENSIONS = {
    "exe", "com", "bat", "cmd", "scr", "pif", "msi", "msp", "dll", "cpl", "jar", "js", "jse", "vbs",
    "vbe", "wsf", "wsh", "ps1", "psm1", "hta", "lnk", "reg", "sh", "app", "dmg", "iso", "apk", "svg",
    "html", "htm", "xhtml", "shtml",
}


def store_raw(*, raw: bytes, source: str, source_ref: str = "", queue: bool = True) -> tuple[InboundEmail, bool]:
    """Keep a raw message before anything parses it; return (row, created). Same bytes, same row.

    With `queue`, processing is queued on the worker after commit (a broker outage only delays it:
    `sweep_inbound_email` finds stored rows later).
    """
    raw = bytes(raw)
    digest = hashlib.sha256(raw).hexdigest()
    with transaction.atomic():
        row, created = InboundEmail.objects.get_or_create(
            digest=digest, defaults={"raw": raw, "size": len(raw), "source": source, "source_ref": source_ref[:300]})
        if created and queue:
            transaction.on_commit(lambda: queue_processing(row.pk))
    return row, created


def queue_processing(inbound_id: int) -> None:
    from kombu.exceptions import OperationalError as BrokerError

    from helpdesk.tasks_inbound import process_inbound_email

    try:
        process_inbound_email.delay(inbound_id)
    except BrokerError as exc:
        logger.warning("broker unreachable, inbound email %s waits for the sweep: %s", inbound_id, exc)


def process_inbound(inbound_id: int, *, skip_screening: bool = False) -> InboundEmail:
    """Turn a stored message into a ticket or a message; safe to run twice (done rows are skipped).

    `skip_screening` (an admin's "process anyway") lets through mail that the loop, automatic-reply
    and rate-limit rules held back; a message already in a conversation is never added twice.

    Attachment files written by a run that rolls back are deleted here. Callers run it outside any
    transaction of theirs (the task, the commands and the admin view do): a rollback of an enclosing
    transaction after it returned is not seen, and would leave that run's files on disk.
    """
    written: list = []  # attachment files saved by this run: (storage, name)
    try:
        with transaction.atomic():
            row = InboundEmail.objects.select_for_update().get(pk=inbound_id)
            if row.state == State.PROCESSED or (row.state == State.IGNORED and not skip_screening):
                return row
            row.attempts += 1
            row.error = ""
            try:
                with transaction.atomic():
                    _process(row, skip_screening=skip_screening, written=written)
            except Exception as exc:  # any bug or bad input: keep the message, record why
                _delete_files(written)  # their rows were rolled back with the savepoint
                logger.warning("inbound email %s failed: %s: %s", row.pk, type(exc).__name__, exc)
                row.state, row.reason = State.FAILED, ""
                row.ticket = row.message = None
                summary = "".join(traceback.format_exception_only(type(exc), exc)).strip()
                detail = "".join(traceback.format_exception(exc)[-6:])
                row.error = _storable(f"{summary[:1000]}\n\n{detail[-3000:]}")
            row.processed_at = timezone.now()
            row.save()
    except BaseException:
        # The outer transaction rolled back (database gone, worker stopped): no row names these files.
        _delete_files(written)
        raise
    return row


def _delete_files(written: list) -> None:
    """Remove attachment files whose rows did not commit, so no customer file stays on disk unowned."""
    while written:
        storage, name = written.pop()
        try:
            storage.delete(name)
        except OSError as exc:  # the row is gone either way; say which file is left
            logger.warning("could not delete orphaned attachment %s: %s", name, exc)


def reprocess_inbound(inbound_id: int) -> InboundEmail:
    """Process a message again (an admin's decision): a failed or waiting one as usual, an ignored one
    past the screening rules that held it back."""
    state = InboundEmail.objects.values_list("state", flat=True).get(pk=inbound_id)
    return process_inbound(inbound_id, skip_screening=state == State.IGNORED)


def _process(row: InboundEmail, *, skip_screening: bool, written: list) -> None:
    parsed = parse_email(bytes(row.raw))
    parsed.message_id = _storable(parsed.message_id)[:255]
    row.email_message_id = parsed.message_id
    row.sender = _storable(screening.sender_of(parsed))[:320]
    row.subject = _storable(parsed.subject)[:255]
    if row.size > conf.get("INBOUND_MAX_BYTES"):
        return _ignore(row, Reason.TOO_LARGE)
    if not _valid_address(row.sender):
        return _ignore(row, Reason.NO_SENDER)
    known = _known_message(parsed)
    if known is not None:  # our own reply coming back, or the same mail through a second way in
        row.ticket_id = known.ticket_id
        return _ignore(row, Reason.DUPLICATE if known.author_kind == Message.Author.CUSTOMER else Reason.LOOP)
    if not skip_screening:
        reason = screening.ignore_reason(parsed, own_addresses=own_addresses())
        if reason:
            return _ignore(row, reason)
        if throttling.hit("inbound-email", hashlib.sha256(row.sender.encode()).hexdigest()[:32],
                          limit=conf.get("INBOUND_SENDER_LIMIT"), window=3600):
            return _ignore(row, Reason.RATE_LIMITED)
    elif screening.ignore_reason(parsed, own_addresses=own_addresses()) == Reason.LOOP:
        return _ignore(row, Reason.LOOP)  # never, even by hand: it would answer itself
    ticket = find_ticket(parsed)
    body = _body(parsed)
    if ticket is None or ticket.status == Ticket.Status.CLOSED:
        subject = _subject(parsed) or (ticket.subject if ticket else "")
        ticket = open_ticket(subject=subject, requester_email=row.sender, requester_name=_storable(parsed.from_name),
                             body=body, channel=Ticket.Channel.EMAIL)
        message = ticket.messages.get()
        # The customer hears from us in their language, with articles that may answer them (sent
        # after commit; none for mail held back above, so autoresponders never get a reply).
        queue_acknowledgement(ticket.pk)
    else:
        message = post_message(ticket=ticket, author_kind=Message.Author.CUSTOMER, body=body)
    if parsed.message_id:
        Message.objects.filter(pk=message.pk).update(email_message_id=parsed.message_id[:255])
    store_attachments(message=message, inbound=row, attachments=parsed.attachments, written=written)
    row.ticket, row.message, row.state, row.reason = ticket, message, State.PROCESSED, ""


def _valid_address(address: str) -> bool:
    try:
        validate_email(address)
    except ValidationError:
        return False
    return True


def _storable(text: str) -> str:
    """Text PostgreSQL can hold: no NUL, no lone surrogates."""
    return (text or "").replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _ignore(row: InboundEmail, reason: str) -> None:
    row.state, row.reason = State.IGNORED, reason
    row.message = None


def own_addresses() -> set[str]:
    """Our From and reply addresses (any plus-tag of them is ours too, see `screening`)."""
    values = [conf.get("FROM_EMAIL") or "", conf.get("REPLY_ADDRESS") or ""]
    return {address.lower() for _, address in getaddresses([v for v in values if v]) if address}


def _known_message(parsed: ParsedEmail) -> Message | None:
    if not parsed.message_id:
        return None
    return Message.objects.filter(email_message_id=parsed.message_id[:255]).order_by("id").first()


def find_ticket(parsed: ParsedEmail) -> Ticket | None:
    """The ticket a message answers: by a validly signed token, else by In-Reply-To / References."""
    ticket_id = mail_tokens.find_ticket_id(addresses=parsed.recipients, subject=parsed.subject)
    if ticket_id is not None:
        ticket = Ticket.objects.filter(pk=ticket_id).first()
        if ticket is not None:
            return ticket
    ids = [_storable(i)[:255] for i in parsed.in_reply_to + parsed.references[::-1]][:50]
    if ids:
        known = Message.objects.filter(email_message_id__in=ids).select_related("ticket").order_by("-id").first()
        if known is not None:
            return known.ticket
    return None


def _subject(parsed: ParsedEmail) -> str:
    import re

    subject = re.sub(r"\[#t\d{1,18}-[a-z2-7]+\]", "", parsed.subject or "", flags=re.IGNORECASE)
    return _storable(" ".join(subject.split()))[:255]


def _body(parsed: ParsedEmail) -> str:
    text = normalize_text(replies.new_text(parsed.text))
    if not text:  # all quoted, or no text at all: never lose what there is
        text = normalize_text(parsed.text)
    if not text:
        names = ", ".join(a.filename for a in parsed.attachments[:10])
        text = f"[{names}]" if names else (_subject(parsed) or "(no text)")
    return text[:100_000]


def store_attachments(*, message: Message, inbound: InboundEmail | None, attachments: list[Attachment],
                      written: list) -> list[EmailAttachment]:
    """Save allowed files under MEDIA_ROOT; refused ones keep a row (name, type, size, why) and no bytes.

    Files are written before their rows commit (a row never names a missing file); each one is added
    to `written`, which the caller deletes if the transaction rolls back.
    """
    rows = []
    for index, att in enumerate(attachments):
        content_type = _storable(_content_type(att))
        row = EmailAttachment(message=message, inbound=inbound, filename=_storable(att.filename)[:255] or "attachment",
                              content_type=content_type[:127], size=len(att.data),
                              sha256=hashlib.sha256(att.data).hexdigest())
        row.refused = _refusal(att, content_type, index)
        if not row.refused:
            row.file.save(row.sha256, ContentFile(att.data), save=False)
            written.append((row.file.storage, row.file.name))
        row.save()
        rows.append(row)
    return rows


def _content_type(att: Attachment) -> str:
    declared = (att.content_type or "application/octet-stream").lower()
    if declared == "application/octet-stream":
        return (mimetypes.guess_type(att.filename)[0] or declared).lower()
    return declared


def _refusal(att: Attachment, content_type: str, index: int) -> str:
    if index >= conf.get("ATTACHMENT_MAX_COUNT"):
        return "too many attachments"
    if len(att.data) > conf.get("ATTACHMENT_MAX_BYTES"):
        return "file too large"
    if not att.data:
        return "empty file"
    extension = att.filename.rsplit(".", 1)[-1].lower() if "." in att.filename else ""
    if extension in REFUSED_EXTENSIONS or content_type not in conf.get("ATTACHMENT_TYPES"):
        return "type not allowed"
    return ""
