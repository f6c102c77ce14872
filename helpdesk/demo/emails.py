"""Demo tickets that arrive by email (demo/emails/*.eml, in four languages and three encodings).

Each raw message becomes a ticket on the email channel with its Message-ID kept for threading, and
gets the acknowledgement a real email would (sent by the worker to whatever EMAIL_URL points at; in
`make run`, the local capture server, so it shows in the Outbox). Safe to run again.
"""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from email.utils import parseaddr
from pathlib import Path

from django.db import transaction

from helpdesk.mail_headers import normalise_message_id
from helpdesk.models import Message, Ticket

EMAILS = Path(__file__).resolve().parent / "emails"


def load_demo_emails() -> int:
    """Open a ticket for each demo email not loaded yet; return how many were added."""
    from helpdesk.services.email_out import queue_acknowledgement
    from helpdesk.services.tickets import open_ticket

    added = 0
    for path in sorted(EMAILS.glob("*.eml")):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        message_id = normalise_message_id(str(message["Message-ID"]))
        if Message.objects.filter(email_message_id=message_id).exists():
            continue
        name, address = parseaddr(str(message["From"]))
        body = message.get_body(preferencelist=("plain",)).get_content()
        with transaction.atomic():
            ticket = open_ticket(subject=str(message["Subject"]), requester_email=address, requester_name=name,
                                 body=body, channel=Ticket.Channel.EMAIL)
            ticket.messages.update(email_message_id=message_id)
            queue_acknowledgement(ticket.pk)
        added += 1
    return added
