"""Check and unpack what mail providers POST: one documented raw-MIME shape signed with our HMAC
scheme, Mailgun's "forward raw MIME" routes signed with its webhook signing key, and Postmark's and
SendGrid's inbound posts, which carry no signature of ours to check: they are authenticated by a
shared secret in the URL the provider calls (HTTP basic auth, or a `token` query parameter).

Our scheme (for Postfix/Exim relays, Cloudflare Email Workers, AWS SES via Lambda, or your own code):

    POST /desk/email/inbound/            Content-Type: message/rfc822, the raw message as the body
    X-Polyglot-Timestamp: 1741000000     Unix seconds, within 5 minutes of our clock
    X-Polyglot-Signature: sha256=<hex HMAC-SHA256(HELPDESK_INBOUND_WEBHOOK_SECRET, "<timestamp>." + body)>

Mailgun: a route whose action is forward("https://desk.example.com/desk/email/inbound/mailgun/")
(the URL ending in /mailgun/ receives `body-mime`); it signs `timestamp + token` with HMAC-SHA256
under the domain's HTTP webhook signing key (HELPDESK_MAILGUN_SIGNING_KEY).

Postmark: the inbound stream's webhook URL https://desk:SECRET@desk.example.com/desk/email/inbound/postmark/
(HELPDESK_POSTMARK_INBOUND_SECRET). SendGrid Inbound Parse: the same with /sendgrid/
(HELPDESK_SENDGRID_INBOUND_SECRET). Either also accepts ...?token=SECRET for a URL without credentials.

A replayed request stores nothing new: messages are stored by the SHA-256 of their bytes.
"""

from __future__ import annotations

import base64
import binascii
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


def verify_shared_secret(*, secret: str, authorization: str, token: str) -> bool:
    """True when the request carries `secret` as its basic-auth password (any user name) or as `token`.

    What Postmark and SendGrid offer for inbound posts: credentials in the webhook URL, which they
    send as an Authorization header. Compared in constant time; over HTTPS only.
    """
    if not secret:
        return False
    offered = []
    scheme, _, value = (authorization or "").strip().partition(" ")
    if scheme.lower() == "basic" and value:
        try:
            offered.append(base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")[2])
        except (binascii.Error, ValueError):
            pass
    if token:
        offered.append(token)
    # Every offer is compared, so the time taken does not tell which one was close.
    results = [hmac.compare_digest(candidate.encode("utf-8", "replace"), secret.encode()) for candidate in offered]
    return any(results)


def _form_parts(content_type: str, body: bytes):
    # The email package reads MIME multipart bodies; form-data is one (RFC 7578).
    message = email.message_from_bytes(b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n" + body,
                                       policy=policy.compat32)
    if not message.is_multipart():
        return
    for part in message.get_payload():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, tuple):
            name = name[2]
        if name:
            yield str(name), part


def form_fields(content_type: str, body: bytes) -> dict[str, bytes]:
    """The fields of a multipart/form-data or urlencoded body, as bytes (first value of each name)."""
    return form_data(content_type, body)[0]


def form_data(content_type: str, body: bytes) -> tuple[dict[str, bytes], dict[str, tuple[str, str, bytes]]]:
    """(fields, files) of a form body: every part's bytes by name (first value of each name), and the
    parts that are files as name -> (file name, type, bytes)."""
    fields: dict[str, bytes] = {}
    files: dict[str, tuple[str, str, bytes]] = {}
    if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        from urllib.parse import parse_qsl

        for name, value in parse_qsl(body.decode("utf-8", "surrogateescape"), keep_blank_values=True):
            fields.setdefault(name, value.encode("utf-8", "surrogateescape"))
        return fields, files
    for name, part in _form_parts(content_type, body):
        if name in fields:
            continue
        payload = part.get_payload(decode=True)
        fields[name] = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = (str(filename), part.get_content_type(), fields[name])
    return fields, files
