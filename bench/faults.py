"""Fault drill: imports on a fresh desk while its processes are killed and its services stopped.

On a new var folder (its own PostgreSQL and Redis) `config.stack.start_stack` starts the desk as
`make run` does (supervised Celery worker for imports, embedder, beat, web). Five uploads of
ARTICLES/5 articles each (CSV files in a ZIP) are made, one before each fault, which strikes while
that upload is being imported or embedded:

  1. every pool process of the worker and the embedder SIGKILLed   (Celery replaces them)
  2. the main processes of the worker and the embedder SIGKILLed   (the supervisor restarts them)
  3. Redis stopped for REDIS_OUTAGE seconds (30), an upload made while it is down
  4. PostgreSQL stopped for POSTGRES_OUTAGE seconds (60)

Nothing is done by hand afterwards. The drill then waits until every article exists once and every
passage has its vector, and prints articles missing, passages unembedded, duplicates, stranded
jobs (not done) and the time from the end of the last fault to full recovery; the last line is the
same as JSON. Exit status 0 when all the counts are zero.

`python -m bench faults [--articles 2000] [--redis-outage 30] [--postgres-outage 60]`
(tests/test_fault_drill.py runs a short one: --articles 200 --redis-outage 5 --postgres-outage 8
--sweep-seconds 5).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import signal
import socket
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def say(line: str) -> None:
    print(line, flush=True)


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (5 min {five:.1f})"


def upload_zip(batch: int, count: int) -> bytes:
    """`count` articles in three CSV files, each article with a unique external id and text."""
    topics = ["reset your password", "track an order", "change the delivery address", "cancel a subscription",
              "download an invoice", "update a card", "return an item"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        per_file = -(-count // 3)
        for part, start in enumerate(range(0, count, per_file)):
            text = io.StringIO()
            writer = csv.writer(text)
            writer.writerow(["external_id", "locale", "title", "body"])
            for n in range(start, min(count, start + per_file)):
                topic = topics[n % len(topics)]
                writer.writerow([f"drill-{batch}-{n}", "en", f"How to {topic} ({batch}-{n})",
                                 f"To {topic}, open your account page and follow the steps shown. "
                                 f"If it does not work, contact support and quote reference {batch}-{n}."])
            archive.writestr(f"upload-{batch}/part-{part}.csv", text.getvalue())
    return buffer.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench faults", description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--redis-outage", type=float, default=30.0)
    parser.add_argument("--postgres-outage", type=float, default=60.0)
    parser.add_argument("--sweep-seconds", type=float, default=None,
                        help="beat's sweep interval for this desk (default: the product's, 60 s)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="give up waiting for recovery after this")
    parser.add_argument("--var", default=str(ROOT / "var" / "bench-faults"), help="the fresh desk's folder (emptied)")
    args = parser.parse_args(argv)

    var = Path(args.var).resolve()
    if var.exists():
        _stop_services(var)
        shutil.rmtree(var)
    var.mkdir(parents=True)
    os.environ["POLYGLOT_VAR"] = str(var)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)  # the drill's desk has its own services, stopped and started here
    stack_env = {}
    if args.sweep_seconds:
        stack_env["HELPDESK_SWEEP_SECONDS"] = str(args.sweep_seconds)
        stack_env["HELPDESK_IMPORT_STALE_SECONDS"] = str(int(max(2 * args.sweep_seconds, 5)))
    import django

    django.setup()
    from config import embedded
    from config.stack import start_stack

    say(f"fault drill on a fresh desk in {var}: {args.articles} articles in 5 uploads; {os.cpu_count()} cores, {load()}")
    stack = start_stack(var, web_port=free_port(), env=stack_env)
    try:
        result = drill(stack, args)
    finally:
        stack.stop()
        from django.db import connections

        connections.close_all()
        embedded.stop_redis()
        embedded.stop_postgres()
    say(json.dumps(result))
    bad = [k for k in ("articles_missing", "passages_unembedded", "duplicates", "stranded_jobs") if result[k]]
    return 1 if bad else 0


def _stop_services(var: Path) -> None:
    previous = os.environ.get("POLYGLOT_VAR")
    os.environ["POLYGLOT_VAR"] = str(var)
    try:
        from config import embedded

        embedded.stop_redis()
        embedded.stop_postgres()
    except Exception:
        pass
    finally:
        if previous is None:
            os.environ.pop("POLYGLOT_VAR", None)
        else:
            os.environ["POLYGLOT_VAR"] = previous


def drill(stack, args) -> dict:
    import psutil
    from django.db import connections

    from config import embedded
    from helpdesk.encoders import encoder_name
    from helpdesk.models import ImportJob
    from helpdesk.services.imports import start_import

    per_upload = -(-args.articles // 5)
    expected = 5 * per_upload
    started = time.monotonic()

    def t() -> str:
        return f"[{time.monotonic() - started:6.1f}s]"

    def upload(batch: int) -> ImportJob:
        job = start_import(files=[(f"drill-{batch}.zip", upload_zip(batch, per_upload))], source="fault drill")
        say(f"{t()} upload {batch}: import #{job.id}, {per_upload} articles")
        return job

    def when_busy(job: ImportJob, timeout: float = 120) -> str:
        """Wait until the job is being imported (or, if it went by, until its passages are being embedded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.status == "running" and job.articles_created:
                return f"while import #{job.id} was writing ({job.articles_created} articles in)"
            if job.status == "done":
                return f"while import #{job.id}'s passages were being embedded"
            time.sleep(0.05)
        return f"while import #{job.id} was still {job.status}"

    workers = [stack["worker"], stack["embedder"]]
    for program in workers:
        _wait(lambda: psutil.Process(program.pid).children(), 120, f"the {program.name}'s pool processes")

    # 1. The pool processes.
    job = upload(1)
    moment = when_busy(job)
    children = [c for program in workers for c in psutil.Process(program.pid).children()]
    for child in children:
        os.kill(child.pid, signal.SIGKILL)
    say(f"{t()} fault 1: SIGKILLed the {len(children)} pool processes of the worker and the embedder {moment}")

    # 2. The main processes.
    job = upload(2)
    moment = when_busy(job)
    pids = [program.pid for program in workers]
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    say(f"{t()} fault 2: SIGKILLed the main processes of the worker and the embedder {pids} {moment}")
    for program, pid in zip(workers, pids):
        _wait(lambda: program.running and program.pid != pid, 60, f"the supervisor to restart the {program.name}")
    say(f"{t()}          the supervisor restarted them as {[p.pid for p in workers]}")

    # 3. Redis.
    job = upload(3)
    moment = when_busy(job)
    embedded.stop_redis()
    say(f"{t()} fault 3: Redis stopped {moment}")
    upload(4)  # recorded while the broker is down: nobody is told, the sweep must find it
    time.sleep(max(0.0, args.redis_outage - 1))
    embedded.redis_url()
    say(f"{t()}          Redis started again")

    # 4. PostgreSQL.
    job = upload(5)
    moment = when_busy(job)
    connections.close_all()
    embedded.stop_postgres()
    say(f"{t()} fault 4: PostgreSQL stopped {moment}")
    time.sleep(args.postgres_outage)
    _start_postgres()
    connections.close_all()
    faults_over = time.monotonic()
    say(f"{t()}          PostgreSQL started again; no further action: waiting for recovery ({load()})")

    deadline = faults_over + args.timeout
    name = encoder_name()
    last = None
    while True:
        state = _state(expected, name)
        if state != last:
            say(f"{t()} {state}")
            last = state
        if not any(state.values()) or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    recovered = time.monotonic() - faults_over
    result = {**state, "articles_expected": expected, "recovery_seconds": round(recovered, 1),
              "worker_restarts": sum(p.restarts for p in workers), "load_average": round(os.getloadavg()[0], 1)}
    say(f"\narticles missing {state['articles_missing']}, passages unembedded {state['passages_unembedded']}, "
        f"duplicates {state['duplicates']}, stranded jobs {state['stranded_jobs']}; "
        f"time to full recovery after the last fault {recovered:.0f} s ({load()})")
    return result


def _start_postgres() -> None:
    """Start the stopped embedded PostgreSQL again (pgserver keeps a handle per folder that would
    only report the server it started first, so it is asked to make sure the server runs)."""
    import warnings

    from config import embedded

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

    pgserver.get_server(embedded.var_dir() / "postgres", cleanup_mode=None).ensure_postgres_running()
    embedded.postgres_settings()


def _state(expected: int, encoder: str) -> dict:
    from django.db import DatabaseError, connections
    from django.db.models import Count

    from helpdesk.models import Article, Chunk, ImportJob

    try:
        present = Article.objects.filter(external_id__startswith="drill-").values("external_id").distinct().count()
        duplicates = (Article.objects.values("external_id").annotate(n=Count("id")).filter(n__gt=1).count()
                      + Chunk.objects.values("article_id", "ordinal").annotate(n=Count("id")).filter(n__gt=1).count())
        return {
            "articles_missing": expected - present,
            "passages_unembedded": Chunk.objects.exclude(encoder=encoder).count(),
            "duplicates": duplicates,
            "stranded_jobs": ImportJob.objects.exclude(status=ImportJob.Status.DONE).count(),
        }
    except DatabaseError:
        connections.close_all()
        return {"articles_missing": -1, "passages_unembedded": -1, "duplicates": -1, "stranded_jobs": -1}


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception:
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


if __name__ == "__main__":
    sys.exit(main())
