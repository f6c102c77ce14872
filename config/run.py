"""`make run`: the whole product on one machine, every step printed as it happens.

Embedded PostgreSQL + pgvector and Redis, migrations, static files, then the supervised processes
(Celery worker, beat, the web server, a stand-in customer site: see config/stack.py), the demo
knowledge base and tickets, the embedding of the knowledge base, weeks of demo activity (first start
only) and the demo tickets' suggestions. "Ready" is printed once the web server answers and every
open ticket has its suggestions. Whatever dies is restarted; Ctrl-C stops everything it started.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from io import StringIO
from pathlib import Path

from config.progress import Steps, duration

ROOT = Path(__file__).resolve().parent.parent
STEPS = 10


def free_port(preferred: int) -> int:
    for port in [preferred, *range(preferred + 10, preferred + 100)]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port near {preferred}")


def _interrupt(signum, frame):
    # Once: stopping must not be cut short by a second Ctrl-C or the terminal closing.
    for other in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(other, signal.SIG_IGN)
    raise KeyboardInterrupt


def main() -> int:
    # A terminal closing or `kill` stops us as cleanly as Ctrl-C: no orphaned worker or server.
    # SIGINT too: a shell that started us in the background leaves it ignored, and Python keeps that.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HTTPS", "0")  # plain HTTP on loopback: cookies must not require TLS
    started = time.monotonic()
    steps = Steps(STEPS)
    supervisor = None
    from config import embedded, stack

    try:
        fresh = not os.environ.get("DATABASE_URL") and not (embedded.var_dir() / "postgres" / "PG_VERSION").exists()
        steps.start("embedded PostgreSQL 16 + pgvector and Redis", "creating the database cluster: ~10-30 s" if fresh else "")
        import django

        django.setup()  # the settings start (or find) the embedded services
        from django.conf import settings

        steps.done(_services_summary(settings, embedded))
        _migrate(steps)
        _collect_static(steps)
        _prepare_model(steps)

        port = free_port(int(os.environ.get("PORT", "8000")))
        widget_port = free_port(int(os.environ.get("WIDGET_DEMO_PORT", "8001")))
        supervisor = _start_processes(steps, settings, port)
        _load_demo(steps, widget_port)
        stack.add_widget_demo(supervisor, port=widget_port, web_port=port)
        _wait_for_embeddings(steps, supervisor)
        _demo_activity(steps, widget_port, supervisor)
        _ticket_suggestions(steps, started)
        _wait_for_web(steps, port, supervisor)
        _print_welcome(port, widget_port, settings, time.monotonic() - started)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        if supervisor is not None:
            supervisor.stop()
        if "django" in sys.modules and embedded.started_here:
            from django.db import connections

            connections.close_all()
        if "redis" in embedded.started_here:
            embedded.stop_redis()
        if "postgres" in embedded.started_here:
            embedded.stop_postgres()
        what = ", ".join(supervisor.programs) if supervisor else "nothing else"
        print(f"stopped {what}" + (" and the embedded services" if embedded.started_here else ""), flush=True)
    return 0


def _services_summary(settings, embedded) -> str:
    db = settings.DATABASES["default"]
    where = "embedded" if not os.environ.get("DATABASE_URL") else db.get("HOST") or "DATABASE_URL"
    state = "started" if embedded.started_here else "already running"
    return f"PostgreSQL ({where}) and Redis: {state}; data in {settings.VAR_DIR}"


def _migrate(steps: Steps) -> None:
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    steps.start("database migrations", f"{len(plan)} to apply" if plan else "up to date")

    class Counter(StringIO):
        applied = 0

        def write(self, text):
            if "Applying " in text:
                Counter.applied += 1
                steps.update(text.split("Applying ", 1)[1].rstrip(". \n"), done=Counter.applied, total=len(plan))
            return len(text)

    call_command("migrate", verbosity=1, interactive=False, stdout=Counter())
    steps.done(f"{len(plan)} applied" if plan else "nothing to apply")


def _collect_static(steps: Steps) -> None:
    from django.core.management import call_command

    steps.start("static files for the web server (WhiteNoise)")
    out = StringIO()
    call_command("collectstatic", interactive=False, verbosity=1, stdout=out)
    steps.done(out.getvalue().strip().splitlines()[-1] if out.getvalue().strip() else "collected")


def _prepare_model(steps: Steps) -> None:
    from helpdesk import conf

    spec = conf.get("ENCODER")
    steps.start(f"the embedding model ({spec})", "built from the bundled weights once per machine: ~30 s")
    # In a child process: building imports torch, whose ~800 MB this process would keep for as
    # long as it supervises the others.
    code = "import sys; from embeddings.catalog import prepare_model; print(prepare_model(sys.argv[1]) or '')"
    built = subprocess.run([sys.executable, "-c", code, spec], cwd=ROOT, capture_output=True, text=True)
    if built.returncode:
        raise RuntimeError(f"could not build the embedding model {spec}:\n{built.stderr[-3000:]}")
    directory = built.stdout.strip().splitlines()[-1] if built.stdout.strip() else ""
    steps.done(f"in {directory}" if directory else "nothing to build")


def _start_processes(steps: Steps, settings, port: int):
    from config import embedded, stack
    from config.supervisor import Supervisor

    steps.start("processes: Celery worker, beat, web server, mail capture (and the demo customer site after step 6)",
                "supervised: whatever exits is restarted")
    log_dir = Path(settings.VAR_DIR) / "log"
    # Children use the services found here rather than each looking for them again.
    env = {"DATABASE_URL": os.environ.get("DATABASE_URL") or embedded.database_url(settings.DATABASES["default"]),
           "REDIS_URL": settings.REDIS_URL, "HELPDESK_WARM_ENCODER": "1",
           "HELPDESK_SITE_URL": os.environ.get("HELPDESK_SITE_URL", f"http://127.0.0.1:{port}")}  # links in emails
    mail_port = None
    if not (os.environ.get("EMAIL_URL") or os.environ.get("EMAIL_HOST")):
        # The desk's outgoing mail goes to a local capture server (config/mail_capture.py), not the world.
        mail_port = free_port(int(os.environ.get("MAIL_CAPTURE_PORT", "1025")))
        env.update(EMAIL_URL=f"smtp://127.0.0.1:{mail_port}", HELPDESK_MAIL_CAPTURE_DIR=str(mail_dir(settings)))
    supervisor = Supervisor(log_dir, cwd=ROOT, env=env, say=steps.say)
    if mail_port:
        supervisor.add("mail-capture", [sys.executable, "-m", "config.mail_capture", "--port", str(mail_port),
                                        "--dir", str(mail_dir(settings))])
    stack.add_programs(supervisor, Path(settings.VAR_DIR), web_port=port)
    supervisor.start()
    steps.done(f"{', '.join(f'{p.name} (pid {p.pid})' for p in supervisor.programs.values())}; "
               f"web: granian, {stack.web_workers()} workers × {stack.web_threads()} threads, at most "
               f"{stack.max_web_connections()} PostgreSQL connections; logs in {log_dir}")
    return supervisor


def mail_dir(settings) -> Path:
    return Path(settings.VAR_DIR) / "mail"


def _load_demo(steps: Steps, widget_port: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    from helpdesk.models import Article, Ticket

    demo = json.loads((ROOT / "helpdesk" / "demo" / "kb.json").read_text(encoding="utf-8"))
    articles = sum(len(a["translations"]) for a in demo["articles"])
    steps.start("demo knowledge base, tickets and logins", f"{articles} articles in 7 languages")
    out, failure = StringIO(), []

    def load():
        try:
            call_command("load_demo", no_history=True, no_email=True, stdout=out,
                         widget_origin=[f"http://127.0.0.1:{widget_port}", f"http://localhost:{widget_port}"])
        except BaseException as exc:  # re-raised below, in the main thread
            failure.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=load, name="load-demo", daemon=True)
    thread.start()
    while thread.is_alive():
        steps.update("articles saved", done=Article.objects.filter(external_id__startswith="demo:").count(),
                     total=articles)
        thread.join(0.5)
    if failure:
        raise failure[0]
    summary = out.getvalue().splitlines()[0] if out.getvalue() else ""
    steps.done(summary.replace("demo: ", "").split(", widget key")[0] or
               f"{Article.objects.count()} articles, {Ticket.objects.count()} tickets")


def _wait_for_embeddings(steps: Steps, supervisor) -> None:
    from helpdesk.encoders import encoder_name
    from helpdesk.models import Chunk
    from helpdesk.services.knowledge import pending_chunk_ids

    total = Chunk.objects.count()
    pending = len(pending_chunk_ids())
    steps.start(f"embedding the knowledge base with {encoder_name()} (Celery worker)",
                f"{pending} of {total} passages to embed" if pending else "nothing to do")
    while pending:
        steps.update("passages", done=total - pending, total=total)
        time.sleep(0.5)
        total, pending = Chunk.objects.count(), len(pending_chunk_ids())
    steps.done(f"{total} passages embedded")


def _demo_activity(steps: Steps, widget_port: int, supervisor) -> None:
    """Weeks of widget sessions and ticket work for the metrics page, once, in a child process (it
    loads the model; this process stays small while it supervises)."""
    from datetime import timedelta

    from django.utils import timezone

    from config import stack
    from helpdesk.models import Event, Ticket, WidgetSession

    if Event.objects.filter(created_at__lt=timezone.now() - timedelta(days=2)).exists():
        steps.start("demo activity for the metrics page")
        steps.done("already there")
        return
    steps.start("demo activity for the metrics page: 8 weeks of widget sessions and ticket work",
                "first start only; 1-3 minutes")
    sessions0, tickets0 = WidgetSession.objects.count(), Ticket.objects.count()
    log = Path(supervisor.log_dir) / "demo-activity.log"
    with open(log, "wb") as out:
        child = subprocess.Popen([sys.executable, "manage.py", "load_demo", "--widget-origin",
                                  f"http://127.0.0.1:{widget_port}"],
                                 cwd=ROOT, env={**supervisor.env, **stack.worker_env()}, stdout=out,
                                 stderr=subprocess.STDOUT)
        try:
            while child.poll() is None:
                steps.update(f"{WidgetSession.objects.count() - sessions0} widget sessions, "
                             f"{Ticket.objects.count() - tickets0} tickets so far")
                time.sleep(1)
        finally:
            if child.poll() is None:
                child.terminate()
                child.wait(30)
    if child.returncode:
        raise SystemExit(f"generating the demo activity failed; its log ends:\n{log.read_text()[-3000:]}")
    steps.done(f"{WidgetSession.objects.count() - sessions0} widget sessions, "
               f"{Ticket.objects.count() - tickets0} tickets")


def _ticket_suggestions(steps: Steps, run_started: float) -> None:
    """Wait until every open ticket has suggestions from the embedded knowledge base.

    Suggestions a ticket got during this start while passages were still being embedded came from
    full-text search alone; those tickets are asked again, now that the vectors are there."""
    from datetime import timedelta

    from django.db.models import Max, OuterRef, Subquery
    from django.utils import timezone

    from helpdesk import tasks
    from helpdesk.models import Chunk, Event, Message, Ticket

    from helpdesk.demo.emails import load_demo_emails

    # The demo's email tickets arrive now, not with the rest of the demo: an acknowledgement is sent
    # once, when its ticket arrives, and it can only suggest articles the knowledge base has vectors for.
    emailed = load_demo_emails()
    shown = (Event.Kind.SUGGESTIONS_SHOWN, Event.Kind.NO_ANSWER)
    started_at = timezone.now() - timedelta(seconds=time.monotonic() - run_started)
    embedded_at = Chunk.objects.aggregate(last=Max("embedded_at"))["last"]
    tickets = Ticket.objects.filter(status__in=Ticket.OPEN_STATUSES).annotate(
        asked=Subquery(Message.objects.filter(ticket=OuterRef("pk"), author_kind=Message.Author.CUSTOMER)
                       .order_by("-created_at").values("created_at")[:1]),
        suggested=Subquery(Event.objects.filter(ticket=OuterRef("pk"), kind__in=shown)
                           .order_by("-created_at").values("created_at")[:1]),
    ).exclude(asked=None)
    steps.start("suggestions for the open tickets", f"{tickets.count()} tickets" +
                (f", {emailed} of them the demo's email tickets, acknowledged now" if emailed else ""))
    since = {}
    for ticket in tickets:
        stale = ticket.suggested and embedded_at and started_at <= ticket.suggested < embedded_at
        if stale:
            since[ticket.pk] = embedded_at
            tasks.suggest_for_ticket.delay(ticket.pk, since=embedded_at.isoformat())
    deadline = time.monotonic() + 600
    while True:
        waiting = [t.pk for t in tickets.all() if not t.suggested or t.suggested < max(t.asked, since.get(t.pk, t.asked))]
        total = tickets.count()
        steps.update("tickets with suggestions", done=total - len(waiting), total=total)
        if not waiting:
            steps.done(f"{total} tickets have suggestions" + (f" ({len(since)} asked again after embedding)"
                                                              if since else ""))
            return
        if time.monotonic() > deadline:
            steps.done(f"still waiting for {len(waiting)} tickets (ids {waiting[:10]}): see the worker log")
            return
        time.sleep(0.5)


def _wait_for_web(steps: Steps, port: int, supervisor) -> None:
    steps.start(f"web server on http://127.0.0.1:{port}", "answering, and its query model loaded")
    state = "no answer yet"
    while True:
        health = _get_json(port, "/healthz")
        login = _status(port, "/accounts/login/")
        if health is not None:
            state = f"healthz: database {health.get('database')}, redis {health.get('redis')}, model {health.get('encoder')}"
        if health and health.get("status") == "ok" and health.get("encoder") in ("ready", "off") and login == 200:
            # Every worker process loads its own model: ask a few times, the connections spread over them.
            if all((_get_json(port, "/healthz") or {}).get("encoder") in ("ready", "off") for _ in range(8)):
                steps.done("answering; sign-in page 200, model loaded")
                return
        steps.update(state)
        time.sleep(0.5)


def _get_json(port: int, path: str) -> dict | None:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", path)
        response = conn.getresponse()
        return json.loads(response.read() or b"{}") if response.status in (200, 503) else None
    except (OSError, http.client.HTTPException, ValueError):
        return None


def _status(port: int, path: str) -> int:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", path)
        return conn.getresponse().status
    except (OSError, http.client.HTTPException):
        return 0


def _print_welcome(port: int, widget_port: int, settings, elapsed: float) -> None:
    logins = json.loads((Path(settings.VAR_DIR) / "demo-logins.json").read_text())
    captured = not (os.environ.get("EMAIL_URL") or os.environ.get("EMAIL_HOST"))
    mail = (f"  Outgoing email    captured, not delivered: {mail_dir(settings)}/*.eml\n"
            f"                    read it as admin at http://127.0.0.1:{port}/desk/outbox/\n"
            if captured else "  Outgoing email    sent through your EMAIL_URL / EMAIL_HOST\n")
    print(
        f"""
Polyglot Desk is ready (in {duration(elapsed)}).

  Agent dashboard   http://127.0.0.1:{port}/desk/
      agent login   agent / {logins['agent']}
      admin login   admin / {logins['admin']}
  Widget demo site  http://127.0.0.1:{widget_port}/  (a customer's page on another origin, with the widget)
{mail}  Logs              {Path(settings.VAR_DIR) / 'log'}  (supervisor.log lists restarts; none yet if it is missing)

Ctrl-C stops it; the data stays in {settings.VAR_DIR} for the next run.
""",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
