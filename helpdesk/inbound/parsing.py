"""Turn raw RFC 5322 bytes into what a help desk needs, whatever the sender's software did to them.

The standard library's `compat32` parser is used on purpose: it never raises on malformed input (it
records defects instead), and every header is decoded here with fallbacks, so that an unknown
charset, a raw 8-bit header or a broken encoded-word costs a few replacement characters, never the
message. Charsets are decoded as mail clients really use them (ISO-8859-1 as Windows-1252, GB2312 as
GB18030, Shift_JIS as CP932); text declared in one charset but written in another falls back to
UTF-8, then Windows-1252.
"""

from __future__ import annotations

import codecs
import email
import email.parser
import re
from dataclasses import dataclass, field
from email import errors, policy
from email.header import decode_header
from email.message import Message
from email.utils import getaddresses, parseaddr

from helpdesk.importers.cleaning import html_to_text

MAX_DEPTH = 12  # MIME nesting followed; deeper parts are treated as attachments
MAX_PARTS = 200
MAX_BOUNDARIES = 64
_BOUNDARY = re.compile(rb"boundary\s*=|message/rfc822", re.IGNORECASE)
MAX_TEXT_CHARS = 200_000  # twice what a message may hold (services.tickets.MAX_MESSAGE_CHARS)
# Labels mail clients write that Python's codecs do not know, or know as a smaller charset.
CHARSET_ALIASES = {
    "iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "utf-8", "ascii": "utf-8",
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cn-gb": "gb18030", "euc-cn": "gb18030",
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932", "ms_kanji": "cp932",
    "windows-31j": "cp932", "ks_c_5601-1987": "cp949", "euc-kr": "cp949", "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6", "big5": "big5hkscs", "windows-874": "cp874", "tis-620": "cp874",
    "utf8": "utf-8", "unicode-1-1-utf-7": "utf-7", "unknown-8bit": "utf-8", "x-unknown": "utf-8",
}
ADDRESS_HEADERS = ("to", "cc", "delivered-to", "x-original-to", "envelope-to", "x-envelope-to", "resent-to")


@dataclass
class Attachment:
    filename: str
    content_type: str
    data: bytes
    inline: bool = False


@dataclass
class ParsedEmail:
    message_id: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    subject: str = ""
    from_name: str = ""
    from_address: str = ""
    return_path: str | None = None  # None: no Return-Path header; "": the null sender <>
    recipients: list[str] = field(default_factory=list)  # decoded To/Cc/Delivered-To/... values
    headers: dict[str, list[str]] = field(default_factory=dict)  # lower-case name -> decoded values
    content_type: str = "text/plain"
    report_type: str = ""
    text: str = ""  # the body as plain text (from text/plain, or from HTML when there is none)
    from_html: bool = False
    attachments: list[Attachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)

    def header(self, name: str) -> str:
        values = self.headers.get(name.lower())
        return values[0] if values else ""


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode body or header bytes labelled `charset`, falling back rather than failing."""
    label = (charset or "").strip().strip('"').lower()
    codec = CHARSET_ALIASES.get(label, label) or "utf-8"
    try:
        codecs.lookup(codec)
    except (LookupError, ValueError):  # unknown, or not even a name (NUL, 300 characters)
        codec = "utf-8"
    for attempt in (codec, "utf-8"):
        try:
            return data.decode(attempt)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("cp1252" if codec in ("utf-8", "cp1252") else codec, errors="replace")


def decode_header_value(value) -> str:
    """Decode RFC 2047 encoded-words (any charset, even unknown ones) and raw 8-bit header bytes."""
    if value is None:
        return ""
    if isinstance(value, email.header.Header):
        # compat32 wraps headers with raw 8-bit bytes as "unknown-8bit" chunks: decode those bytes.
        try:
            chunks = decode_header(value)
        except Exception:
            chunks = [(str(value), None)]
    else:
        value = str(value)
        # Raw 8-bit bytes may also arrive as surrogate escapes: recover the bytes and decode them.
        if any("\udc80" <= ch <= "\udcff" for ch in value):
            value = decode_bytes(value.encode("utf-8", "surrogateescape"), "utf-8")
        try:
            chunks = decode_header(value)
        except Exception:  # a broken encoded-word: keep the text as written
            return _one_line(value)
    parts = []
    for chunk, charset in chunks:
        parts.append(decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk)
    # decode_header drops the whitespace between an encoded-word and plain text; keep words apart.
    text = ""
    for part in parts:
        if text and not text[-1].isspace() and part and not part[0].isspace() and len(parts) > 1:
            text += "" if _both_cjk(text[-1], part[0]) else " "
        text += part
    return _one_line(text)


def _both_cjk(a: str, b: str) -> bool:
    return a >= "\u2e80" and b >= "\u2e80"


def _one_line(text: str) -> str:
    return " ".join(text.replace("\x00", "").split())


def _message_ids(value: str) -> list[str]:
    ids = re.findall(r"<([^<>\s]{1,250})>", value or "")
    if not ids and value and value.strip() and " " not in value.strip():
        ids = [value.strip().strip("<>")]  # some clients forget the angle brackets
    return ids


def parse_email(raw: bytes) -> ParsedEmail:
    """Parse raw message bytes; never raises on malformed mail (see `ParsedEmail.defects`)."""
    msg = None
    # The standard parser's time grows with the square of the nesting (a regex per boundary, every
    # line checked against each): past MAX_BOUNDARIES, which no mail client writes, or past the
    # recursion limit, read the headers and keep the body as text.
    if len(_BOUNDARY.findall(raw, 0, 4_000_000)) <= MAX_BOUNDARIES:
        try:
            msg = email.message_from_bytes(raw, policy=policy.compat32)
        except RecursionError:
            msg = None
    if msg is None:
        msg = email.parser.BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
        del msg["Content-Type"]
        msg.defects.append(errors.MessageDefect("NestedTooDeep"))
    parsed = ParsedEmail()
    for name, value in msg.items():
        parsed.headers.setdefault(name.lower(), []).append(decode_header_value(value))
    parsed.subject = parsed.header("subject")[:998]
    from_name, from_address = parseaddr(parsed.header("from"))
    parsed.from_name, parsed.from_address = from_name.strip()[:200], from_address.strip().lower()[:320]
    if "return-path" in parsed.headers:
        parsed.return_path = parseaddr(parsed.header("return-path"))[1].strip().lower()
    for name in ADDRESS_HEADERS:
        parsed.recipients.extend(parsed.headers.get(name, []))
    ids = _message_ids(parsed.header("message-id"))
    parsed.message_id = ids[0] if ids else ""
    parsed.in_reply_to = _message_ids(parsed.header("in-reply-to"))
    parsed.references = _message_ids(" ".join(parsed.headers.get("references", [])))
    parsed.content_type = msg.get_content_type()
    parsed.report_type = (msg.get_param("report-type") or "").lower() if parsed.content_type == "multipart/report" else ""
    walker = _Walker(parsed)
    try:
        walker.visit(msg, depth=0)
    except RecursionError:
        parsed.defects.append("NestedTooDeep")
    texts = walker.plain or walker.html
    parsed.from_html = not walker.plain and bool(walker.html)
    # Not normalised yet: quote and signature stripping need the "-- " line as written.
    text = "\n\n".join(t for t in texts if t)[:MAX_TEXT_CHARS]
    parsed.text = text.replace("\r\n", "\n").replace("\r", "\n")
    parsed.defects += [type(d).__name__ for d in msg.defects]
    return parsed


class _Walker:
    """Collect the body text (plain preferred, per multipart/alternative) and the attachments."""

    def __init__(self, parsed: ParsedEmail):
        self.parsed = parsed
        self.plain: list[str] = []
        self.html: list[str] = []
        self.parts = 0

    def visit(self, part: Message, *, depth: int) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            return
        ctype = part.get_content_type()
        if part.is_multipart() and depth < MAX_DEPTH:
            children = [p for p in (part.get_payload() or []) if isinstance(p, Message)]
            if ctype == "multipart/alternative" and children:
                self._alternative(children, depth)
            else:
                for child in children:
                    self.visit(child, depth=depth + 1)
            return
        if part.is_multipart():  # nested deeper than any mail client writes: the raw message keeps it
            self.parsed.defects.append("NestedTooDeep")
            return
        if ctype.startswith("multipart/"):  # no boundary found: the parser left the body as text
            ctype = "text/plain"
        disposition = decode_header_value(part.get("Content-Disposition")).split(";")[0].strip().lower()
        filename = _filename(part)
        if ctype in ("text/plain", "text/html") and disposition != "attachment" and not (filename and ctype == "text/html"):
            text = self._text(part)
            (self.plain if ctype == "text/plain" else self.html).append(text)
            return
        if ctype in ("message/delivery-status", "message/feedback-report", "text/rfc822-headers"):
            return
        self._attach(part, ctype, data=_payload(part), inline=disposition == "inline")

    def _alternative(self, children: list[Message], depth: int) -> None:
        # Take the plain-text alternative when it has words; else the richest one (the last).
        plain = [c for c in children if c.get_content_type() == "text/plain"]
        for child in plain:
            if self._text(child).strip():
                self.visit(child, depth=depth + 1)
                for other in children:  # files inside the HTML branch (multipart/related) still count
                    if other is not child and other.is_multipart():
                        _Collector(self).visit(other, depth=depth + 1)
                return
        self.visit(children[-1], depth=depth + 1)

    def _text(self, part: Message) -> str:
        data = _payload(part)
        text = decode_bytes(data, part.get_content_charset())
        if part.get_content_type() == "text/html":
            return html_to_text(text, line_tags=frozenset({"div"}))
        if (part.get_param("format") or "").lower() == "flowed":
            text = unflow(text, delsp=(part.get_param("delsp") or "").lower() == "yes")
        return text

    def _attach(self, part: Message, ctype: str, *, data: bytes, inline: bool = False) -> None:
        name = _filename(part) or f"attachment-{len(self.parsed.attachments) + 1}"
        self.parsed.attachments.append(Attachment(filename=name, content_type=ctype, data=data, inline=inline))


class _Collector(_Walker):
    """Visit a branch for its files only (the text was taken from another alternative)."""

    def __init__(self, walker: _Walker):
        self.parsed, self.plain, self.html, self.parts = walker.parsed, [], [], walker.parts


def _payload(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # broken transfer encoding: keep the bytes as sent
        data = None
    if data is None:
        payload = part.get_payload()
        data = payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""
    return data


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or part.get_param("name") or ""
    except Exception:
        name = ""
    if isinstance(name, tuple):  # RFC 2231 value the library could not decode
        name = decode_bytes(str(name[2]).encode("utf-8", "surrogateescape"), name[0])
    name = decode_header_value(name)
    # Only the last path component, no control characters; the file is stored under a random name anyway.
    name = re.sub(r"[\x00-\x1f\x7f]", "", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    return name[:200]


def unflow(text: str, *, delsp: bool = False) -> str:
    """Join RFC 3676 format=flowed lines (a trailing space means the paragraph goes on)."""
    out: list[str] = []
    joining = False
    for line in text.replace("\r\n", "\n").split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        body = line[depth:]
        if body.startswith(" "):  # space-stuffing
            body = body[1:]
        flowed = body.endswith(" ") and body != "-- "
        if joining and out and out[-1][0] == depth:
            out[-1] = (depth, out[-1][1] + body)
        else:
            out.append((depth, body))
        if flowed and delsp:
            out[-1] = (depth, out[-1][1][:-1])
        joining = flowed
    return "\n".join((">" * d + (" " if d and b else "") + b) for d, b in out)


def addresses(values: list[str]) -> list[str]:
    """Lower-case addresses found in header values."""
    return [a.strip().lower() for _, a in getaddresses(values) if a and "@" in a]
