"""Check and unpack what mail providers POST: one documented raw-MIME shape signed with our HMAC
scheme, and Mailgun's "forward raw MIME" routes signed with its webhook signing key.

Our scheme (for Postfix/Exim relays, Cloudflare Email Workers, AWS SES via Lambda, or your own code):

    POST /desk/email/inbound/            Content-Type: message/rfc822, the raw message as the body
    X-Polyglot-Timestamp: 1741000000     Unix seconds, within 5 minutes of our clock
    X-Polyglot-Signature: sha256=<hex HMAC-SHA256(HELPDESK_INBOUND_WEBHOOK_SECRET, "<timestamp>." + body)>

Mailgun: a route whose action is forward("https://desk.example.com/desk/email/inbound/mailgun/")
(the URL ending in /mailgun/ receives `body-mime`); it signs `timestamp + token` with HMAC-SHA256
under the domain's HTTP webhook signing key (HELPDESK_MAILGUN_SIGNING_KEY).

A replayed request stores nothing new: messages are stored by the SHA-256 of their bytes.
"""

from __future__ import annotations

import email
import hashlib
import hmac
import time
from email import policy

MAX_SKEW_SECONDS = 300


def sign(secret: str, timestamp: str | int, body: bytes) -> str:
    """The X-Polyglot-Signature value for `body` sent at `timestamp` (what a sender computes)."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _fresh(timestamp: str, now: float | None) -> bool:
    try:
        sent = int(str(timestamp).strip())
    except ValueError:
        return False
    return abs((now if now is not None else time.time()) - sent) <= MAX_SKEW_SECONDS


def verify_polyglot(*, secret: str, timestamp: str, signature: str, body: bytes, now: float | None = None) -> bool:
    """True when the signature is ours for this body and the timestamp is recent."""
    if not (secret and timestamp and signature) or not _fresh(timestamp, now):
        return False
    return hmac.compare_digest(sign(secret, timestamp.strip(), body), signature.strip().lower())


def verify_mailgun(*, key: str, timestamp: str, token: str, signature: str, now: float | None = None) -> bool:
    """Mailgun's scheme: hex HMAC-SHA256 of timestamp + token under the webhook signing key."""
    if not (key and timestamp and token and signature) or not _fresh(timestamp, now):
        return False
    expected = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.strip().lower())


def form_fields(content_type: str, body: bytes) -> dict[str, bytes]:
    """The fields of a multipart/form-data or urlencoded body, as bytes (first value of each name)."""
    if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        from urllib.parse import parse_qsl

        pairs = parse_qsl(body.decode("utf-8", "surrogateescape"), keep_blank_values=True)
        fields: dict[str, bytes] = {}
        for name, value in pairs:
            fields.setdefault(name, value.encode("utf-8", "surrogateescape"))
        return fields
    # The email package reads MIME multipart bodies; form-data is one (RFC 7578).
    message = email.message_from_bytes(b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n" + body,
                                       policy=policy.compat32)
    fields = {}
    if not message.is_multipart():
        return fields
    for part in message.get_payload():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, tuple):
            name = name[2]
        if name and name not in fields:
            payload = part.get_payload(decode=True)
            fields[str(name)] = payload if isinstance(payload, bytes) else b""
    return fields
