"""Serve the desk in production: `python -m config.serve [--bind HOST:PORT]` (make run, docker, benches).

Granian (a Rust HTTP server) runs the WSGI application in WEB_CONCURRENCY worker processes (default:
one per core, at least 2) of WEB_THREADS blocking threads each (default 4). A suggestion is mostly
Python and PostgreSQL work plus, for a new question, query encoding, which torch runs outside the GIL
on one thread per request; the threads overlap the waits on PostgreSQL and Redis. Each worker
holds a psycopg pool of WEB_THREADS connections, so the web tier never uses more than
WEB_CONCURRENCY × WEB_THREADS PostgreSQL connections. Chosen over gunicorn (gthread) and uvicorn by
`python -m bench widget_load --server granian,gunicorn,uvicorn` (figures in README, "How it is served").
"""

from __future__ import annotations

import argparse
import os
import sys


def workers() -> int:
    return int(os.environ.get("WEB_CONCURRENCY") or max(2, os.cpu_count() or 1))


def threads() -> int:
    return int(os.environ.get("WEB_THREADS") or 4)


def environment() -> dict[str, str]:
    """What the web processes need besides the deployment's own settings (those win)."""
    return {
        "DATABASE_POOL_SIZE": str(threads()),  # one pooled connection per request thread
        "DATABASE_APPLICATION_NAME": "polyglot-web",
        "HELPDESK_TORCH_THREADS": "1",  # one intra-op thread per request thread
        "OMP_NUM_THREADS": "1",
        "HELPDESK_WARM_ENCODER": "1",  # load the model in the background at start (config/warmup.py)
    }


def argv(bind: str) -> list[str]:
    host, _, port = bind.rpartition(":")
    return [sys.executable, "-m", "granian", "--interface", "wsgi", "--host", host or "0.0.0.0", "--port", port,
            "--workers", str(workers()), "--blocking-threads", str(threads()), "--no-ws",
            "--respawn-failed-workers", "--workers-kill-timeout", "15", "config.wsgi:application"]


def main(args: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m config.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--bind", default=os.environ.get("BIND", "0.0.0.0:8000"), help="HOST:PORT (default $BIND or 0.0.0.0:8000)")
    bind = parser.parse_args(args).bind
    for name, value in environment().items():
        os.environ.setdefault(name, value)
    print(f"serving on {bind} with granian: {workers()} workers × {threads()} threads; PostgreSQL connections "
          f"from the web tier: at most {workers() * int(os.environ['DATABASE_POOL_SIZE'])}", flush=True)
    command = argv(bind)
    os.execv(command[0], command)  # granian takes this process's place: signals reach it directly


if __name__ == "__main__":
    main()
