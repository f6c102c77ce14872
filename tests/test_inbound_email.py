"""Inbound email service: threading, reopening, and the mail that must never become a ticket."""

import uuid

import pytest

from helpdesk import mail_tokens
from helpdesk.models import InboundEmail, Message, OutboundEmail, Ticket
from helpdesk.services import email_out
from helpdesk.services.inbound_email import process_inbound, reprocess_inbound, store_raw
from helpdesk.services.tickets import post_message, update_ticket
from tests.inbound_support import mail_settings, message  # noqa: F401  (fixture)
from tests.mail_support import smtp_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def our_mark(message_id: str) -> str:
    """The X-Polyglot-Desk value our outgoing mail with this Message-ID carries."""
    try:
        from helpdesk.mail_headers import own_mail_mark
    except ImportError:  # before the outbound side lands, any value marks our mail
        return "v1 0123456789abcdef"
    return own_mail_mark(message_id)


def ingest(raw: bytes) -> InboundEmail:
    row, _ = store_raw(raw=raw, source="command", queue=False)
    return process_inbound(row.pk)


def agent_reply(ticket, *, message_id: str) -> Message:
    reply = post_message(ticket=ticket, author_kind=Message.Author.AGENT, body="Could you restart it?")
    Message.objects.filter(pk=reply.pk).update(email_message_id=message_id)
    return reply


def test_a_reply_to_the_signed_address_joins_its_ticket_and_reopens_it_when_solved(mail_settings):
    first = ingest(message())
    ticket = Ticket.objects.get(pk=first.ticket_id)
    update_ticket(ticket=ticket, status=Ticket.Status.SOLVED)

    row = ingest(message(to=mail_tokens.reply_address(ticket.pk), subject="Re: Printer offline",
                         body="It is offline again.\n\nOn Mon, 3 Mar 2025 at 10:12, Acme Support wrote:\n> Solved?"))

    assert (row.state, row.ticket_id) == (InboundEmail.State.PROCESSED, ticket.pk)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN
    assert [m.body for m in ticket.messages.order_by("id")] == [
        "My printer shows offline since this morning.", "It is offline again."]


def test_a_reply_threads_by_in_reply_to_when_the_address_lost_its_tag(mail_settings):
    ticket = Ticket.objects.get(pk=ingest(message()).ticket_id)
    agent_reply(ticket, message_id="out-1.abc@acme.test")

    row = ingest(message(subject="Re: Printer offline", body="Restarted, still offline.",
                         headers={"In-Reply-To": "<out-1.abc@acme.test>", "References": "<x@y> <out-1.abc@acme.test>"}))

    assert row.ticket_id == ticket.pk
    assert ticket.messages.count() == 3


def test_a_forged_token_attaches_nothing_to_the_ticket_it_names(mail_settings):
    victim = Ticket.objects.get(pk=ingest(message(sender="victim@example.com")).ticket_id)
    signature = mail_tokens.reply_token(victim.pk + 1).split("-", 1)[1]  # a real signature, for another id
    forged = f"support+t{victim.pk}-{signature}@acme.test"

    row = ingest(message(sender="mallory@example.net", to=forged, subject=f"Re: [#t{victim.pk}-{signature}] hi",
                         body="Please change the delivery address to 1 Evil Road."))

    assert row.state == InboundEmail.State.PROCESSED
    assert row.ticket_id != victim.pk
    assert victim.messages.count() == 1
    assert Ticket.objects.get(pk=row.ticket_id).requester_email == "mallory@example.net"


@pytest.mark.parametrize("headers, sender, reason", [
    ({"Auto-Submitted": "auto-replied"}, None, "auto_reply"),
    ({"X-Autoreply": "yes"}, None, "auto_reply"),
    ({"X-Autorespond": "Out of office"}, None, "auto_reply"),
    ({"Subject": "Out of Office: Printer offline"}, None, "auto_reply"),
    ({"Subject": "Automatische Antwort: Printer offline"}, None, "auto_reply"),
    ({"Precedence": "bulk"}, None, "bulk"),
    ({"Precedence": "junk"}, None, "bulk"),
    ({"List-Unsubscribe": "<mailto:unsub@news.example>"}, None, "bulk"),
    ({"Return-Path": "<>"}, None, "bounce"),
    ({}, "Mail Delivery Subsystem <MAILER-DAEMON@mx.example.com>", "bounce"),
    ({"Content-Type": 'multipart/report; report-type=delivery-status; boundary="b"'}, None, "bounce"),
    ({"X-Polyglot-Desk": "OUR MARK", "Message-ID": "<out-5.zz@acme.test>"}, None, "loop"),
    ({}, "Acme Support <support@acme.test>", "loop"),
    ({}, "support+t9-abcdefghijklmnop@acme.test", "loop"),
])
def test_automatic_mail_and_our_own_mail_create_nothing(mail_settings, headers, sender, reason):
    tickets, messages = Ticket.objects.count(), Message.objects.count()
    if headers.get("X-Polyglot-Desk") == "OUR MARK":
        headers = {**headers, "X-Polyglot-Desk": our_mark("out-5.zz@acme.test")}

    row = ingest(message(headers=headers, **({"sender": sender} if sender else {})))

    assert (row.state, row.reason) == (InboundEmail.State.IGNORED, reason)
    assert (Ticket.objects.count(), Message.objects.count()) == (tickets, messages)
    assert row.message_id is None
    assert not OutboundEmail.objects.exists()  # no acknowledgement: nothing answers an automaton


def test_auto_submitted_no_is_a_person_writing(mail_settings):
    row = ingest(message(headers={"Auto-Submitted": "no"}))
    assert row.state == InboundEmail.State.PROCESSED


def test_an_auto_reply_to_a_ticket_never_reopens_it(mail_settings):
    ticket = Ticket.objects.get(pk=ingest(message()).ticket_id)
    update_ticket(ticket=ticket, status=Ticket.Status.SOLVED)

    row = ingest(message(to=mail_tokens.reply_address(ticket.pk), subject="Automatic reply: Printer offline",
                         headers={"Auto-Submitted": "auto-replied"}, body="I am away until Monday."))

    assert row.reason == "auto_reply"
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.SOLVED and ticket.messages.count() == 1
    assert OutboundEmail.objects.filter(ticket=ticket).count() == 1  # the first mail's acknowledgement only


def test_our_own_reply_coming_back_is_a_loop_and_the_same_mail_twice_is_stored_once(mail_settings):
    ticket = Ticket.objects.get(pk=ingest(message(message_id="first@example.com")).ticket_id)
    agent_reply(ticket, message_id="out-7.xyz@acme.test")

    echo = ingest(message(sender="someone@example.com", message_id="out-7.xyz@acme.test"))
    assert (echo.state, echo.reason, echo.ticket_id) == ("ignored", "loop", ticket.pk)

    raw = message(message_id="first@example.com", body="Sent again by a second way in.")
    again = ingest(raw)
    assert (again.state, again.reason) == ("ignored", "duplicate")
    row, created = store_raw(raw=raw, source="imap", queue=False)
    assert (row.pk, created) == (again.pk, False)
    assert ticket.messages.count() == 2


def test_a_sender_over_the_hourly_limit_is_kept_but_creates_no_more_tickets(mail_settings):
    mail_settings.HELPDESK = {**mail_settings.HELPDESK, "INBOUND_SENDER_LIMIT": 2}
    sender = f"flood-{uuid.uuid4().hex[:8]}@example.com"

    rows = [ingest(message(sender=sender, subject=f"Spam {n}")) for n in range(4)]

    assert [r.state for r in rows] == ["processed", "processed", "ignored", "ignored"]
    assert rows[3].reason == "rate_limited" and bytes(rows[3].raw).startswith(b"From: ")
    assert Ticket.objects.filter(requester_email=sender).count() == 2
    assert reprocess_inbound(rows[3].pk).state == "processed"  # an admin vouched for it
    assert Ticket.objects.filter(requester_email=sender).count() == 3


def test_a_message_that_cannot_be_processed_is_kept_failed_and_can_be_processed_again(mail_settings, monkeypatch):
    from helpdesk.services import inbound_email

    def broken(**kwargs):
        raise RuntimeError("language detector crashed")

    monkeypatch.setattr(inbound_email, "open_ticket", broken)
    row = ingest(message(subject="Broken"))
    assert row.state == "failed" and "RuntimeError: language detector crashed" in row.error
    assert not Ticket.objects.filter(subject="Broken").exists()

    monkeypatch.undo()
    assert process_inbound(row.pk).state == "processed"
    assert Ticket.objects.filter(subject="Broken").count() == 1
    assert process_inbound(row.pk).state == "processed"  # twice: still one ticket
    assert Ticket.objects.filter(subject="Broken").count() == 1


def test_a_reply_to_a_closed_ticket_opens_a_follow_up(mail_settings):
    ticket = Ticket.objects.get(pk=ingest(message()).ticket_id)
    update_ticket(ticket=ticket, status=Ticket.Status.CLOSED)

    row = ingest(message(to=mail_tokens.reply_address(ticket.pk), subject=f"Re: Printer offline {mail_tokens.subject_tag(ticket.pk)}",
                         body="New problem: the scanner too."))

    assert row.ticket_id != ticket.pk
    assert Ticket.objects.get(pk=row.ticket_id).subject == "Re: Printer offline"


def test_garbage_is_kept_and_answered_with_a_reason_not_a_crash(mail_settings):
    for raw in (b"", b"\x00\xff" * 50, b"From: \r\n\r\n", b"Subject: no sender\r\n\r\nhello"):
        row = ingest(raw)
        assert row.state in ("ignored", "failed")
        assert bytes(InboundEmail.objects.get(pk=row.pk).raw) == raw


def test_a_new_ticket_by_email_is_acknowledged_once_and_a_reply_is_not(mail_settings, django_capture_on_commit_callbacks):
    from helpdesk.models import OutboundEmail

    with django_capture_on_commit_callbacks():
        ticket = Ticket.objects.get(pk=ingest(message()).ticket_id)
    acks = OutboundEmail.objects.filter(ticket=ticket, kind=OutboundEmail.Kind.ACKNOWLEDGEMENT)
    assert [a.to_address for a in acks] == ["dana@example.com"]

    ingest(message(to=mail_tokens.reply_address(ticket.pk), subject="Re: Printer offline", body="Any news?"))
    assert OutboundEmail.objects.filter(ticket=ticket).count() == 1


def test_a_pasted_x_polyglot_desk_mark_does_not_make_a_customer_mail_disappear(mail_settings):
    row = ingest(message(headers={"X-Polyglot-Desk": our_mark("someone-elses-id@acme.test")}))
    assert row.state == InboundEmail.State.PROCESSED


def test_no_mail_loop_with_a_real_smtp_server_autoresponders_bounces_and_our_own_copy(mail_settings, smtp_server):
    """The acknowledgement goes out; the customer's out-of-office answers it, it bounces from a second
    address, and a copy of it lands in our own mailbox: none of the three is a ticket, a message or an email."""
    ticket = Ticket.objects.get(pk=ingest(message(subject="Printer offline")).ticket_id)
    assert email_out.deliver(email_id=OutboundEmail.objects.get(ticket=ticket).pk).sent
    [ack] = smtp_server.messages
    answer_to = {"In-Reply-To": ack["Message-ID"], "References": ack["Message-ID"]}

    away = ingest(message(to=ack["Reply-To"], subject=f"Out of Office: {ack['Subject']}", body="Back on Monday.",
                          headers={**answer_to, "Auto-Submitted": "auto-replied"}))
    bounce = ingest(message(sender="MAILER-DAEMON@mx.example.com", to="support@acme.test",
                            subject="Undelivered Mail Returned to Sender", body="550 5.1.1 mailbox unknown",
                            headers={**answer_to, "Return-Path": "<>"}))
    own_copy = ingest(ack.as_bytes())

    assert [(r.state, r.reason) for r in (away, bounce, own_copy)] == [
        ("ignored", "auto_reply"), ("ignored", "bounce"), ("ignored", "loop")]
    assert Ticket.objects.count() == 1 and ticket.messages.count() == 1
    assert OutboundEmail.objects.count() == 1
    for email in OutboundEmail.objects.exclude(status="sent"):
        email_out.deliver(email_id=email.pk)
    assert len(smtp_server.messages) == 1
