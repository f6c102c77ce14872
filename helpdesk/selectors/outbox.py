"""Reads: the messages a local capture SMTP server wrote (one .eml per message), for the Outbox page."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import policy
from email.parser import BytesParser
from pathlib import Path

import nh3
from django.core.paginator import Page, Paginator

from helpdesk import conf

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.eml$")
MAX_BYTES = 5 * 1024 * 1024


@dataclass
class Captured:
    name: str
    size: int
    headers: dict = field(default_factory=dict)
    text: str = ""
    html: str = ""
    raw: bytes = b""

    @property
    def subject(self) -> str:
        return self.headers.get("Subject", "")

    @property
    def received_at(self) -> datetime | None:
        """When the capture server received it: its file name starts with that UTC time."""
        try:
            return datetime.strptime(self.name[:15], "%Y%m%d-%H%M%S").replace(tzinfo=timezone.utc)
        except ValueError:
            return None


def capture_dir() -> Path | None:
    value = conf.get("MAIL_CAPTURE_DIR")
    return Path(value) if value else None


def _files() -> list[Path]:
    directory = capture_dir()
    if directory is None or not directory.is_dir():
        return []
    files = [p for p in directory.iterdir() if p.is_file() and _NAME.match(p.name)]
    return sorted(files, key=lambda p: p.name, reverse=True)  # names start with the capture time


SHOWN_HEADERS = ("From", "To", "Reply-To", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
                 "Content-Language", "Auto-Submitted", "X-Polyglot-Desk")


def _read(path: Path, *, body: bool) -> Captured:
    raw = path.read_bytes()[:MAX_BYTES]
    message = BytesParser(policy=policy.default).parsebytes(raw, headersonly=not body)
    headers = {}
    for name in SHOWN_HEADERS:
        try:
            value = message.get(name)
        except Exception:  # noqa: BLE001 - a malformed header is shown as missing, not a 500
            value = None
        if value is not None:
            headers[name] = str(value)
    captured = Captured(name=path.name, size=path.stat().st_size, headers=headers)
    if body:
        captured.raw = raw
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        captured.text = text.get_content() if text is not None else ""
        # Shown inside the dashboard: cleaned like any HTML we did not write on this page.
        captured.html = nh3.clean(html.get_content()) if html is not None else ""
    return captured


def captured_page(*, page: int | str = 1, per_page: int = 50) -> Page:
    """A page of captured messages, newest first, with their headers."""
    result = Paginator(_files(), per_page).get_page(page)
    result.object_list = [_read(p, body=False) for p in result.object_list]
    return result


def captured_message(name: str) -> Captured | None:
    """One captured message by file name (only plain names inside the capture folder), or None."""
    directory = capture_dir()
    if directory is None or not _NAME.match(name or ""):
        return None
    path = directory / name
    if not path.is_file() or path.resolve().parent != directory.resolve():
        return None
    return _read(path, body=True)
