"""`make run`: the whole product on one machine.

Starts (or reuses) the embedded PostgreSQL + pgvector and Redis, migrates, loads the demo, starts a
Celery worker (with the periodic sweep) and the web server, waits until the demo content is embedded,
and prints where to go and how to sign in. Ctrl-C stops everything it started.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port(preferred: int) -> int:
    for port in [preferred, *range(preferred + 10, preferred + 100)]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port near {preferred}")


class Processes:
    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.items: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, argv: list[str], env: dict | None = None) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "ab")
        # Own session: Ctrl-C reaches only us, and we stop the children in order.
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, **(env or {})})
        self.items.append((name, proc))
        return proc

    def check(self) -> None:
        for name, proc in self.items:
            if proc.poll() is not None:
                tail = (self.log_dir / f"{name}.log").read_text(errors="replace")[-3000:]
                raise SystemExit(f"\n{name} exited with status {proc.returncode}; its log ends:\n{tail}")

    def stop(self) -> None:
        for name, proc in reversed(self.items):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in reversed(self.items):
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


# --- email: a local SMTP server that captures the desk's outgoing mail into var/mail/ ---------------

def start_mail_capture(procs: Processes, var_dir: Path) -> Path | None:
    """Start the capture SMTP server (config/mail_capture.py) as one more supervised process and point
    the worker's and web's mail at it. Nothing is started when EMAIL_URL or EMAIL_HOST configures a
    real server; then None."""
    if os.environ.get("EMAIL_URL") or os.environ.get("EMAIL_HOST"):
        return None
    port = free_port(int(os.environ.get("MAIL_CAPTURE_PORT", "1025")))
    directory = var_dir / "mail"
    procs.start("mail-capture", [sys.executable, "-m", "config.mail_capture", "--port", str(port),
                                 "--dir", str(directory)])
    os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{port}"
    os.environ["HELPDESK_MAIL_CAPTURE_DIR"] = str(directory)
    return directory


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    # A terminal closing or `kill` stops us as cleanly as Ctrl-C: no orphaned worker or server.
    # SIGINT too: a shell that started us in the background leaves it ignored, and Python keeps that.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    os.environ.setdefault("HELPDESK_WARM_ENCODER", "1")
    started = time.monotonic()
    print("Polyglot Desk: starting embedded PostgreSQL + pgvector and Redis…", flush=True)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from config import embedded

    call_command("migrate", verbosity=0)
    port = free_port(int(os.environ.get("PORT", "8000")))
    widget_port = free_port(int(os.environ.get("WIDGET_DEMO_PORT", "8001")))
    call_command("load_demo", widget_origin=[f"http://127.0.0.1:{widget_port}", f"http://localhost:{widget_port}"])

    log_dir = Path(settings.VAR_DIR) / "log"
    log_dir.mkdir(exist_ok=True)
    procs = Processes(log_dir)
    python = sys.executable
    mail_dir = start_mail_capture(procs, Path(settings.VAR_DIR))
    os.environ.setdefault("HELPDESK_SITE_URL", f"http://127.0.0.1:{port}")  # links in emails
    procs.start("worker", [python, "-m", "celery", "-A", "config", "worker", "-Q", "default,embeddings",
                           "-c", "1", "-B", "-s", str(Path(settings.VAR_DIR) / "celerybeat-schedule"),
                           "-l", "info", "-n", "desk@%h"])
    procs.start("web", [python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
                env={"HELPDESK_TORCH_THREADS": os.environ.get("HELPDESK_TORCH_THREADS", "1")})
    # A stand-in customer site on its own origin, embedding the widget with the demo site's key.
    procs.start("widget-demo", [python, "manage.py", "widget_demo_host", "--port", str(widget_port),
                                "--api", f"http://127.0.0.1:{port}"])
    try:
        _wait_for_embeddings(procs)
        _print_welcome(port, widget_port, settings, time.monotonic() - started, mail_dir)
        while True:
            procs.check()
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
    finally:
        procs.stop()
        from django.db import connections

        connections.close_all()
        if "redis" in embedded.started_here:
            embedded.stop_redis()
        if "postgres" in embedded.started_here:
            embedded.stop_postgres()
        print("stopped web, worker" + (", and the embedded services" if embedded.started_here else ""))
    return 0


def _wait_for_embeddings(procs: Processes) -> None:
    from helpdesk.models import Chunk
    from helpdesk.services.knowledge import pending_chunk_ids

    total = Chunk.objects.count()
    last_print = 0.0
    while True:
        procs.check()
        pending = len(pending_chunk_ids())
        if pending == 0:
            print(f"  knowledge base embedded: {total} passages", flush=True)
            return
        if time.monotonic() - last_print > 5:
            print(f"  embedding knowledge base: {total - pending}/{total} passages", flush=True)
            last_print = time.monotonic()
        time.sleep(0.5)


def _print_welcome(port: int, widget_port: int, settings, elapsed: float, mail_dir: Path | None = None) -> None:
    import json

    logins = json.loads((Path(settings.VAR_DIR) / "demo-logins.json").read_text())
    mail = (f"  Outgoing email    captured, not delivered: {mail_dir}/*.eml\n"
            f"                    read it as admin at http://127.0.0.1:{port}/desk/outbox/\n"
            if mail_dir else "  Outgoing email    sent through your EMAIL_URL / EMAIL_HOST\n")
    print(
        f"""
Polyglot Desk is running (ready in {elapsed:.0f}s).

  Agent dashboard   http://127.0.0.1:{port}/desk/
      agent login   agent / {logins['agent']}
      admin login   admin / {logins['admin']}
  Widget demo site  http://127.0.0.1:{widget_port}/  (a customer's page on another origin, with the widget)
{mail}  Logs              {Path(settings.VAR_DIR) / 'log'}

Ctrl-C stops it; the data stays in {settings.VAR_DIR} for the next run.
""",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
