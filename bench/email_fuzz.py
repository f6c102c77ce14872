"""Inbound email under hostile input, and its throughput on ordinary mail.

    python -m bench email_fuzz [--messages 10000] [--seed 1] [--clean 2000]

1. `--clean` copies of the real-shaped corpus (tests/fixtures/email, each made unique by a header)
   through the whole service in this process: store the raw bytes, parse, screen, thread, strip
   quotes, detect the language, write the ticket and message. Prints messages/s.
2. `--messages` mutated messages (bench/email_mutations.py: byte flips, truncation, mangled headers,
   bogus charsets and transfer encodings, broken boundaries, deep nesting, floods of parts), the same
   way. Prints how many were stored, processed, ignored, failed, how many exceptions escaped the
   service (must be 0) and whether every raw message is still there byte for byte (SHA-256 in SQL).

Runs in a scratch database (`bench_email_fuzz`) in the embedded PostgreSQL, dropped afterwards.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench email_fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--clean", type=int, default=2_000, help="ordinary messages for the throughput figure")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from bench import email_mutations
    from helpdesk.services import tickets

    settings.HELPDESK = {**settings.HELPDESK, "INBOUND_SENDER_LIMIT": 10**9, "FROM_EMAIL": "Acme <support@acme.test>"}
    settings.MEDIA_ROOT = settings.VAR_DIR / "bench-media"
    tickets._suggest_after_commit = lambda ticket_id: None  # suggestions are not what is measured here
    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = "bench_email_fuzz"
    original_name = settings.DATABASES["default"]["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        seeds = email_mutations.seeds()
        clean = [_unique(seeds[n % len(seeds)], n) for n in range(args.clean)]
        counts, escaped, seconds = _run(clean)
        print(f"clean:  {args.clean} real-shaped messages ({len(seeds)} shapes) in {seconds:.1f} s = "
              f"{args.clean / seconds:,.1f} messages/s stored+processed; {dict(counts)}, exceptions {escaped}",
              flush=True)

        mutated = [raw for _, raw in email_mutations.mutated(args.messages, seed=args.seed)]
        counts, escaped, seconds = _run(mutated, report_every=1000)
        lost = _lost(mutated)
        print(f"fuzz:   {args.messages} mutated messages (seed {args.seed}) in {seconds:.1f} s = "
              f"{args.messages / seconds:,.1f} messages/s", flush=True)
        distinct = len(set(mutated))
        print(f"        distinct raw messages {distinct}; stored {sum(counts.values())} "
              f"(processed {counts['processed']}, ignored {counts['ignored']}, failed {counts['failed']}, "
              f"still stored {counts['stored']}); unhandled exceptions {escaped}; raw messages lost or changed {lost}")
        from django.db.models import Count

        from helpdesk.models import InboundEmail

        reasons = dict(InboundEmail.objects.filter(state="ignored").values_list("reason").annotate(n=Count("id")))
        errors = collections.Counter(e.split(":")[0] for e in InboundEmail.objects.filter(state="failed")
                                     .values_list("error", flat=True))
        print(f"        ignored by reason {reasons}; failed by error {dict(errors)}")
        return 1 if escaped or lost else 0
    finally:
        connection.creation.destroy_test_db(original_name, verbosity=0)


def _unique(raw: bytes, n: int) -> bytes:
    """The same message with its own Message-ID (else copies are recognised as duplicates)."""
    import re

    return re.sub(rb"(?im)^(Message-ID:\s*<)", rb"\g<1>bench%d." % n, raw, count=1)


def _run(messages: list[bytes], *, report_every: int = 0):
    from helpdesk.services.inbound_email import process_inbound, store_raw

    counts: collections.Counter = collections.Counter()
    escaped = 0
    seen: set[int] = set()
    start = time.perf_counter()
    for n, raw in enumerate(messages, 1):
        try:
            row, created = store_raw(raw=raw, source="command", source_ref="bench", queue=False)
            if row.pk not in seen:
                seen.add(row.pk)
                counts[process_inbound(row.pk).state] += 1
        except Exception as exc:  # what the service let escape: a bug
            escaped += 1
            print(f"  exception on message {n}: {type(exc).__name__}: {exc}"[:300], file=sys.stderr)
        if report_every and n % report_every == 0:
            print(f"  {n} messages, {time.perf_counter() - start:.0f} s", flush=True)
    return counts, escaped, time.perf_counter() - start


def _lost(messages: list[bytes]) -> int:
    """Raw messages not found byte for byte (their SHA-256 computed by PostgreSQL from the stored bytes)."""
    import hashlib

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT encode(sha256(raw), 'hex') FROM helpdesk_inboundemail")
        stored = {row[0] for row in cursor.fetchall()}
    return sum(1 for raw in set(messages) if hashlib.sha256(raw).hexdigest() not in stored)


if __name__ == "__main__":
    sys.exit(main())
