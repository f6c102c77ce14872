"""Outgoing email throughput: public replies through the send task to a local aiosmtpd server.

    python -m bench email [--messages 300] [--concurrency 1,2]

Three figures, measured side by side in one run against the same SMTP server (aiosmtpd in this
process, on loopback), each message a Spanish reply with text and HTML parts:

- `django send_mail`: Django's SMTP backend alone, one connection per message (the floor: no
  database, no state machine);
- `task in-process`: the send task's body (`tasks_email.send_email`), called here one after another:
  claim the row under a lock, compose in the ticket's language, SMTP, record SENT;
- `celery worker -c N`: the same task queued on Redis and run by a real worker process, timed from
  queueing the first until every row is SENT.

Rows are created in the bench database (POLYGLOT_VAR, default var/bench-db) and deleted afterwards.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class Counter:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.count += 1
        return "250 OK"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _make_emails(n: int, agent) -> list[int]:
    from django.utils import timezone

    from helpdesk.mail_compose import new_message_id
    from helpdesk.models import Message, OutboundEmail
    from helpdesk.services.tickets import open_ticket, post_message

    ids = []
    now = timezone.now()
    for i in range(n):
        # `at=` replays history: no suggestion task is queued for these tickets.
        ticket = open_ticket(subject=f"Pedido {i} sin llegar", requester_email=f"cliente{i}@example.es",
                             requester_name="Cliente", language="es", at=now,
                             body="Hice un pedido hace una semana y no ha llegado. ¿Dónde está?")
        message = post_message(ticket=ticket, author_kind=Message.Author.AGENT, author=agent, at=now,
                               body="Hola, su pedido salió ayer; este es el seguimiento: https://example.com/t/123")
        ids.append(OutboundEmail.objects.create(ticket=ticket, message=message, kind=OutboundEmail.Kind.REPLY,
                                                idempotency_key=f"bench:{message.pk}", to_address=ticket.requester_email,
                                                email_message_id=new_message_id(ticket.pk)).pk)
    return ids


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench email", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--concurrency", default="1,2", help="worker concurrencies to measure")
    args = parser.parse_args(argv)

    from aiosmtpd.controller import Controller
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.mail import send_mail
    from django.db import connection

    from config import embedded
    from config.celery import app
    from helpdesk import tasks_email
    from helpdesk.models import OutboundEmail, Ticket

    counter = Counter()
    port = _free_port()
    server = Controller(counter, hostname="127.0.0.1", port=port)
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    agent, _ = get_user_model().objects.get_or_create(username="bench-email-agent")
    n = args.messages
    results: list[tuple[str, int, float]] = []
    try:
        print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1/5/15 min)")
        started = time.perf_counter()
        for i in range(n):
            send_mail(f"Pedido {i}", "Hola, su pedido salió ayer.", "help@bench.test", [f"c{i}@example.es"])
        results.append(("django send_mail", n, time.perf_counter() - started))

        ids = _make_emails(n, agent)
        started = time.perf_counter()
        for email_id in ids:
            tasks_email.send_email(email_id)
        results.append(("task in-process", n, time.perf_counter() - started))
        assert OutboundEmail.objects.filter(pk__in=ids, status="sent").count() == n
        # A second run of every task sends nothing more.
        before = counter.count
        for email_id in ids:
            tasks_email.send_email(email_id)
        duplicates = counter.count - before

        env = {**os.environ, "DATABASE_URL": embedded.database_url(connection.settings_dict),
               "REDIS_URL": settings.REDIS_URL, "EMAIL_URL": f"smtp://127.0.0.1:{port}", "PYTHONUNBUFFERED": "1"}
        for concurrency in [int(c) for c in args.concurrency.split(",") if c.strip()]:
            ids = _make_emails(n, agent)
            app.control.purge()
            log = tempfile.NamedTemporaryFile(prefix="bench-email-worker-", suffix=".log", delete=False)
            worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "default", "-c", str(concurrency),
                 "-l", "warning", "-n", f"bench-email-{os.getpid()}-{concurrency}@%h", "--without-gossip",
                 "--without-mingle"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                deadline = time.monotonic() + 120
                while not app.control.ping(timeout=0.5):
                    if worker.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit(f"worker did not start; see {log.name}")
                started = time.perf_counter()
                for email_id in ids:
                    tasks_email.send_email.delay(email_id)
                while OutboundEmail.objects.filter(pk__in=ids, status="sent").count() < n:
                    if time.perf_counter() - started > 600:
                        raise SystemExit(f"worker too slow; see {log.name}")
                    time.sleep(0.05)
                results.append((f"celery worker -c {concurrency}", n, time.perf_counter() - started))
            finally:
                worker.terminate()
                worker.wait(60)
    finally:
        server.stop()
        Ticket.objects.filter(requester_email__endswith="@example.es", subject__startswith="Pedido ").delete()

    floor = results[0][1] / results[0][2]
    print(f"\n{'path':<22} {'messages':>8} {'seconds':>8} {'msg/s':>8} {'vs send_mail':>12}")
    for name, count, seconds in results:
        rate = count / seconds
        print(f"{name:<22} {count:>8} {seconds:>8.2f} {rate:>8.1f} {rate / floor:>11.2f}x")
    print(f"\nduplicate sends when every task ran twice: {duplicates}")
    print(f"messages the SMTP server received: {counter.count}")
    return 0
