"""Fetch new mail from an IMAP folder and store each message before flagging it.

The standard library's `imaplib` is used rather than imap-tools: the service needs the exact raw
bytes of each message (imap-tools hands out a parsed `email.message` instead) and five commands
(SEARCH, FETCH BODY.PEEK[], STORE, MOVE or COPY+EXPUNGE, LOGOUT).

Order matters for never losing mail: a message is fetched with BODY.PEEK (it stays unseen), stored
(committed), and only then flagged \\Seen or moved. A worker killed in between leaves it unseen on
the server; the next poll fetches it again and `store_raw` recognises the same bytes.
"""

from __future__ import annotations

import imaplib
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    user: str
    password: str
    folder: str = "INBOX"
    ssl: bool = True  # implicit TLS (imaps, port 993)
    starttls: bool = True  # with plain imap: upgrade with STARTTLS (refuse the server if it cannot)
    timeout: float = 30.0
    cafile: str | None = None  # a private CA's certificate, for a server the system does not trust

    @classmethod
    def from_url(cls, url: str) -> "ImapSettings":
        """`imaps://user:password@host[:port]/FOLDER[?cafile=PATH]`, or `imap://…` (STARTTLS, required
        unless `?starttls=0`); percent-encode special characters in the user and password."""
        parts = urlsplit(url)
        if parts.scheme not in ("imap", "imaps") or not parts.hostname:
            raise ValueError("IMAP_URL must look like imaps://user:password@host/INBOX")
        query = parse_qs(parts.query)
        secure = parts.scheme == "imaps"
        return cls(
            host=parts.hostname, port=parts.port or (993 if secure else 143),
            user=unquote(parts.username or ""), password=unquote(parts.password or ""),
            folder=unquote(parts.path.lstrip("/")) or "INBOX", ssl=secure,
            starttls=not secure and query.get("starttls", ["1"])[0] not in ("0", "false", "no"),
            timeout=float(query.get("timeout", ["30"])[0]), cafile=query.get("cafile", [None])[0],
        )


def connect(settings: ImapSettings) -> imaplib.IMAP4:
    context = ssl.create_default_context(cafile=settings.cafile)
    if settings.ssl:
        client = imaplib.IMAP4_SSL(settings.host, settings.port, ssl_context=context, timeout=settings.timeout)
    else:
        client = imaplib.IMAP4(settings.host, settings.port, timeout=settings.timeout)
        if settings.starttls:
            client.starttls(ssl_context=context)
    client.login(settings.user, settings.password)
    return client


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def poll(settings: ImapSettings, *, store: Callable[[bytes, str], object], batch: int = 50,
         processed_folder: str | None = None) -> int:
    """Store up to `batch` unseen messages of the folder through `store(raw, ref)`; return how many."""
    client = connect(settings)
    try:
        status, data = client.select(_quote(settings.folder))
        if status != "OK":
            raise imaplib.IMAP4.error(f"cannot open folder {settings.folder!r}: {data!r}")
        uidvalidity = _uidvalidity(client)
        status, data = client.uid("SEARCH", None, "UNSEEN")
        uids = (data[0] or b"").split()[:batch] if status == "OK" else []
        stored = []
        for uid in uids:
            status, data = client.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = _literal(data) if status == "OK" else None
            if raw is None:
                continue
            store(raw, f"imap:{settings.folder}:{uidvalidity}:{uid.decode()}")
            # Stored and committed: only now may the server forget it is new.
            client.uid("STORE", uid, "+FLAGS.SILENT", r"(\Seen)")
            stored.append(uid)
        if stored and processed_folder:
            _move(client, b",".join(stored).decode(), processed_folder)
        return len(stored)
    finally:
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            pass


def _literal(data) -> bytes | None:
    for item in data or ():
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def _uidvalidity(client: imaplib.IMAP4) -> str:
    _, data = client.response("UIDVALIDITY")
    value = data[0] if data else None
    return value.decode() if isinstance(value, bytes) else str(value or "")


def _move(client: imaplib.IMAP4, uid_set: str, folder: str) -> None:
    client.create(_quote(folder))  # fails harmlessly when it exists
    if "MOVE" in {str(c).upper() for c in client.capabilities}:
        status, data = client.uid("MOVE", uid_set, _quote(folder))
        if status == "OK":
            return
    status, data = client.uid("COPY", uid_set, _quote(folder))
    if status != "OK":
        logger.warning("IMAP: could not move stored mail to %s: %r", folder, data)
        return
    client.uid("STORE", uid_set, "+FLAGS.SILENT", r"(\Deleted)")
    client.expunge()


def describe(settings: ImapSettings) -> str:
    return f"{'imaps' if settings.ssl else 'imap'}://{settings.user}@{settings.host}:{settings.port}/{settings.folder}"

