"""Demo tickets that arrive by email (demo/emails/*.eml, in four languages and three encodings).

Each raw message goes through the inbound-email service like real mail (stored, then parsed,
threaded and acknowledged), so it shows under Inbound mail too, and gets the acknowledgement a real
email would (sent by the worker to whatever EMAIL_URL points at; in `make run`, the local capture
server, so it shows in the Outbox). Safe to run again: the same bytes are stored once.
"""

from __future__ import annotations

from pathlib import Path

EMAILS = Path(__file__).resolve().parent / "emails"


def load_demo_emails() -> int:
    """Ingest each demo email not processed yet; return how many became tickets now."""
    from helpdesk.models import InboundEmail
    from helpdesk.services.inbound_email import process_inbound, store_raw

    added = 0
    for path in sorted(EMAILS.glob("*.eml")):
        row, _ = store_raw(raw=path.read_bytes(), source=InboundEmail.Source.COMMAND,
                           source_ref=f"demo:{path.name}", queue=False)
        if row.state in (InboundEmail.State.STORED, InboundEmail.State.FAILED):
            added += process_inbound(row.pk).state == InboundEmail.State.PROCESSED
    return added
