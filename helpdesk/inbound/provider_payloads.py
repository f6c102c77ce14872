"""Turn what Postmark and SendGrid POST for an inbound email back into one RFC 5322 message.

Both providers can hand over the message as it arrived (Postmark's `RawEmail` when the inbound
stream's "Include raw email content in JSON payload" is on; SendGrid's `email` field when "POST the
raw, full MIME message" is ticked): those bytes are used unchanged. Otherwise they post the message
already taken apart, and it is put back together here from the headers they pass on (Message-ID,
In-Reply-To, References, Auto-Submitted, Return-Path…: what threading and loop protection read),
the text and HTML bodies and the attachments. The rebuilt message is deterministic (boundaries
derived from its content), so a provider's retry of the same post is stored once.

The envelope (who the provider received the mail from and for) is added as `Return-Path` and
`X-Original-To` when the message lacks them, as a delivering mail server would: the null sender of
a bounce and a reply address only in Bcc stay visible to screening and threading.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.header import Header
from email.utils import formataddr, getaddresses

# Headers the rebuilt message writes itself (or that describe the provider's body, not ours).
_OWN_HEADERS = {"content-type", "content-transfer-encoding", "mime-version", "content-disposition"}
_ADDRESS_HEADERS = {"from", "to", "cc", "reply-to", "sender"}
_MAIN_TYPES = {"application", "audio", "image", "text", "video", "font", "model", "message"}


class PayloadError(ValueError):
    """The post is not the provider's inbound shape."""


def _text(value) -> str:
    """A string that encodes: JSON may carry lone surrogates, and NUL has no place in mail."""
    return str(value if value is not None else "").replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _clean(value) -> str:
    """A header value a message may hold: a string, on one line."""
    return " ".join(_text(value).split())


def _list(value) -> list:
    return value if isinstance(value, list) else []


def with_envelope(raw: bytes, *, mail_from: str | None, recipients: list[str]) -> bytes:
    """Prepend Return-Path / X-Original-To from the provider's envelope where the message has none."""
    head = BytesHeaderParser(policy=policy.compat32).parsebytes(raw, headersonly=True)
    extra = b""
    if mail_from is not None and head.get("Return-Path") is None:
        extra += f"Return-Path: <{_clean(mail_from)}>\r\n".encode("utf-8", "replace")
    present = " ".join(str(head.get_all(name) or "") for name in ("To", "Cc", "Delivered-To", "X-Original-To")).lower()
    for address in recipients[:20]:
        address = _clean(address)
        if address and address.lower() not in present:
            extra += f"X-Original-To: {address}\r\n".encode("utf-8", "replace")
    return extra + raw


def _header_lines(headers: list[tuple[str, str]]) -> bytes:
    """Header lines from decoded values, encoded as mail clients do (RFC 2047 for non-ASCII words).

    Written by hand rather than through `EmailMessage`'s header registry, which raises on address
    and date syntax a provider passes on from a sender's broken mail.
    """
    out = b""
    for name, value in headers:
        name, value = _clean(name), _clean(value)
        if not name or not name.isascii() or not name.isprintable() or any(c in name for c in ": ") \
                or name.lower() in _OWN_HEADERS:
            continue
        if name.lower() in _ADDRESS_HEADERS and not value.isascii():
            pairs = [pair for pair in getaddresses([value]) if pair[1]]
            if pairs and all(address.isascii() for _, address in pairs):
                value = ", ".join(formataddr(pair, charset="utf-8") for pair in pairs)
        if not value.isascii():
            value = Header(value, "utf-8", header_name=name).encode(linesep="\r\n")
        out += f"{name}: {value}\r\n".encode("ascii", "replace")
    return out


def _build(*, head: bytes, text: str, html: str, attachments: list[tuple[str, str, bytes]]) -> bytes:
    """`head` (the original header lines) above a new MIME body of the text, HTML and files."""
    msg = EmailMessage(policy=policy.SMTP)
    if html and not text:
        msg.set_content(html, subtype="html")
    else:
        msg.set_content(text or "")
        if html:
            msg.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments:
        maintype, _, subtype = (content_type or "").lower().partition("/")
        if not (maintype in _MAIN_TYPES and subtype.replace("-", "").replace(".", "").replace("+", "").isalnum()
                and subtype.isascii()):
            maintype, subtype = "application", "octet-stream"
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=_clean(filename) or "attachment")
    # Same post, same bytes: boundaries from the content rather than random ones.
    seed = hashlib.sha256(repr((head, text, html, [(a, b, hashlib.sha256(c).hexdigest())
                                                   for a, b, c in attachments])).encode("utf-8", "replace")).hexdigest()
    for index, part in enumerate(msg.walk()):
        if part.is_multipart():
            part.set_boundary(f"=_polyglot_{seed[:24]}_{index}")
    return head + msg.as_bytes(policy=policy.SMTP)


def postmark_message(body: bytes) -> tuple[bytes, str]:
    """(raw message, Postmark's id for it) from Postmark's inbound webhook JSON."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError("The body is not JSON.") from exc
    if not isinstance(payload, dict) or not any(k in payload for k in ("RawEmail", "Headers", "TextBody", "HtmlBody")):
        raise PayloadError("Not a Postmark inbound message: no RawEmail, Headers, TextBody or HtmlBody.")
    ref = _clean(payload.get("MessageID"))[:100]
    recipients = [_clean(payload.get("OriginalRecipient"))] if payload.get("OriginalRecipient") else []
    if isinstance(payload.get("RawEmail"), str) and payload["RawEmail"].strip():
        try:
            raw = payload["RawEmail"].encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a lone surrogate that stands for no byte
            raw = payload["RawEmail"].encode("utf-8", "replace")
        return with_envelope(raw, mail_from=None, recipients=recipients), ref

    sender = payload.get("FromFull") if isinstance(payload.get("FromFull"), dict) else {}
    name, address = _clean(sender.get("Name")), _clean(sender.get("Email"))
    try:
        from_ = formataddr((name, address)) if address else _clean(payload.get("From"))
    except UnicodeError:  # an internationalised address: written as it is, encoded below
        from_ = f"{name} <{address}>" if name else address
    top = {
        "From": from_,
        "To": _clean(payload.get("To")), "Cc": _clean(payload.get("Cc")), "Reply-To": _clean(payload.get("ReplyTo")),
        "Subject": _clean(payload.get("Subject")), "Date": _clean(payload.get("Date")),
    }
    headers = [(name, value) for name, value in top.items() if value]
    written = {name.lower() for name, _ in headers}
    for item in _list(payload.get("Headers")):
        if isinstance(item, dict) and _clean(item.get("Name")).lower() not in written:
            headers.append((_clean(item.get("Name")), _clean(item.get("Value"))))
    attachments = []
    for item in _list(payload.get("Attachments")):
        if not isinstance(item, dict):
            continue
        try:
            data = base64.b64decode(str(item.get("Content") or ""), validate=False)
        except (binascii.Error, ValueError):
            data = b""
        attachments.append((_clean(item.get("Name")), _clean(item.get("ContentType")), data))
    raw = _build(head=_header_lines(headers), text=_text(payload.get("TextBody") or ""),
                 html=_text(payload.get("HtmlBody") or ""), attachments=attachments)
    return with_envelope(raw, mail_from=None, recipients=recipients), ref


def _decoded(fields: dict[str, bytes], name: str, charsets: dict) -> str:
    charset = str(charsets.get(name) or "utf-8")
    try:
        return _text(fields.get(name, b"").decode(charset, "replace"))
    except LookupError:  # a charset label Python does not know
        return _text(fields.get(name, b"").decode("utf-8", "replace"))


def _original_header_lines(block: bytes) -> bytes:
    """The sender's header lines as SendGrid passes them on, unchanged, less those of the old body."""
    lines: list[bytes] = []
    keep = True
    for line in block.replace(b"\r\n", b"\n").split(b"\n"):
        if not line.strip():
            continue
        if line[:1] in (b" ", b"\t"):  # a folded continuation of the header above
            if keep and lines:
                lines.append(line)
            continue
        name = line.partition(b":")[0].strip().lower()
        keep = b":" in line and bool(name) and b" " not in name and name.decode("latin-1") not in _OWN_HEADERS
        if keep:
            lines.append(line)
    return b"".join(line + b"\r\n" for line in lines)


def sendgrid_message(fields: dict[str, bytes], files: dict[str, tuple[str, str, bytes]]) -> bytes:
    """The raw message from SendGrid Inbound Parse form fields (`email` when raw MIME is posted,
    else `headers`, `text`, `html`, `charsets` and the attachment files)."""
    try:
        envelope = json.loads(fields.get("envelope", b"{}") or b"{}")
    except ValueError:
        envelope = {}
    envelope = envelope if isinstance(envelope, dict) else {}
    to = envelope.get("to") if isinstance(envelope.get("to"), list) else []
    mail_from = envelope.get("from") if isinstance(envelope.get("from"), str) else None
    if fields.get("email", b"").strip():
        return with_envelope(fields["email"], mail_from=mail_from, recipients=[str(a) for a in to])
    if "headers" not in fields and "text" not in fields and "html" not in fields:
        raise PayloadError("Not a SendGrid Inbound Parse post: no email, headers, text or html field.")
    try:
        charsets = json.loads(fields.get("charsets", b"{}") or b"{}")
    except ValueError:
        charsets = {}
    charsets = charsets if isinstance(charsets, dict) else {}
    head = _original_header_lines(fields.get("headers", b""))
    attachments = [files[name] for name in sorted(files, key=lambda n: (len(n), n))]
    raw = _build(head=head, text=_decoded(fields, "text", charsets), html=_decoded(fields, "html", charsets),
                 attachments=attachments)
    return with_envelope(raw, mail_from=mail_from, recipients=[str(a) for a in to])
