"""The mark on every email the desk sends, so the inbound side never takes our own mail for a customer's.

Each outgoing message carries `X-Polyglot-Desk: v1 <signature>`, an HMAC (under SECRET_KEY) of its
own Message-ID. A copy of our mail that comes back (a customer's forwarding rule, an alias that
points at the support mailbox, a mailing list) keeps both headers, so `is_own_mail` recognises it;
a customer's reply has its own Message-ID and carries no such header. Signed, so a header pasted
into someone else's mail cannot make the desk drop it silently.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.crypto import constant_time_compare, salted_hmac

HEADER = "X-Polyglot-Desk"
SALT = "helpdesk.mail_headers.own"
VERSION = "v1"


def normalise_message_id(value: str) -> str:
    """Return a Message-ID without its angle brackets and surrounding space."""
    return (value or "").strip().strip("<>").strip()


def own_mail_mark(message_id: str) -> str:
    """Return the X-Polyglot-Desk value for an outgoing message with this Message-ID."""
    digest = salted_hmac(SALT, normalise_message_id(message_id), algorithm="sha256").hexdigest()[:32]
    return f"{VERSION} {digest}"


def is_own_mail(headers: Mapping) -> bool:
    """True when `headers` (an email.message.Message or any mapping of header names) are our own mail's.

    Looks at X-Polyglot-Desk and Message-ID only; both survive forwarding loops and bounces that
    quote the original headers are recognised by the bounce checks, not here.
    """
    mark = _get(headers, HEADER)
    message_id = _get(headers, "Message-ID")
    if not mark or not message_id:
        return False
    return constant_time_compare(" ".join(str(mark).split()), own_mail_mark(str(message_id)))


def _get(headers: Mapping, name: str) -> str:
    value = headers.get(name)
    if value is None and not hasattr(headers, "get_all"):  # a plain dict with other capitalisation
        value = next((v for k, v in headers.items() if str(k).lower() == name.lower()), None)
    return str(value or "")
