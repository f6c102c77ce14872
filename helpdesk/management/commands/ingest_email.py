"""Store and process email from an MTA pipe (stdin), .eml files, Maildirs or mbox files.

    python manage.py ingest_email -                 # one message on stdin (Postfix/Exim pipe)
    python manage.py ingest_email msg.eml Maildir/ archive.mbox [--queue]

Each message is stored before it is parsed. Exit status 75 (EX_TEMPFAIL) when a message could not be
stored (database down), so an MTA keeps it and retries; once stored, a message that fails to parse
is kept as failed (see the dashboard's Inbound mail page) and the exit status is 0.
"""

from __future__ import annotations

import mailbox
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from helpdesk.services.inbound_email import process_inbound, store_raw

EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = "Store and process email from stdin (-), .eml files, Maildir directories or mbox files."
    # An MTA pipe must get 75 (retry later) from a database outage, not the checks' exit status 1.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="*", default=["-"], help="'-' for stdin, a file, a Maildir or an mbox")
        parser.add_argument("--queue", action="store_true",
                            help="Queue processing on the Celery worker instead of processing here")

    def handle(self, *args, paths=(), queue=False, **options):
        paths = list(paths) or ["-"]
        counts: dict[str, int] = {}
        for path in paths:
            for raw, ref in _messages(path):
                try:
                    row, created = store_raw(raw=raw, source="command", source_ref=ref, queue=queue)
                except DatabaseError as exc:
                    raise CommandError(f"could not store {ref}: {exc}", returncode=EX_TEMPFAIL) from exc
                state = "duplicate" if not created else "queued" if queue else process_inbound(row.pk).state
                if created and not queue:
                    row.refresh_from_db()
                counts[state] = counts.get(state, 0) + 1
                if options["verbosity"] > 1 or (options["verbosity"] and len(paths) == 1 and path == "-"):
                    self.stdout.write(f"{ref}: inbound #{row.pk} {state}"
                                      + (f", ticket #{row.ticket_id}" if row.ticket_id else "")
                                      + (f" ({row.reason or row.error})" if row.reason or row.error else ""))
        if options["verbosity"]:
            self.stdout.write(", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "no messages")


def _messages(path: str):
    """Yield (raw bytes, reference) for every message at `path`."""
    if path == "-":
        raw = sys.stdin.buffer.read()
        if raw.startswith(b"From "):  # an envelope line some MTAs prepend (Postfix pipe flag F)
            raw = raw.split(b"\n", 1)[1] if b"\n" in raw else b""
        yield raw, "stdin"
        return
    target = Path(path)
    if target.is_dir():
        if not all((target / sub).is_dir() for sub in ("cur", "new", "tmp")):
            raise CommandError(f"{path} is a directory but not a Maildir (cur/, new/, tmp/)")
        box = mailbox.Maildir(target, factory=None, create=False)
        for key in sorted(box.keys()):
            yield box.get_bytes(key), f"maildir:{target.name}/{key}"
        return
    if not target.is_file():
        raise CommandError(f"{path}: no such file")
    with target.open("rb") as handle:
        is_mbox = handle.read(5) == b"From "
    if is_mbox:
        box = mailbox.mbox(target, create=False)
        for index, key in enumerate(box.keys()):
            yield box.get_bytes(key), f"mbox:{target.name}#{index + 1}"
        return
    yield target.read_bytes(), f"file:{target.name}"
