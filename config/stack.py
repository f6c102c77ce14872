"""The processes of a running desk, as one table: `make run` supervises them, benchmarks start them too.

    from config.stack import start_stack
    stack = start_stack("var/drill", web_port=8100)     # a Supervisor: worker, beat, web, already watched
    stack["worker"].pid, stack["worker"].restarts        # handles by name; kill them and watch them return
    stack.stop()

Every program runs from the repository root with the same settings module, POLYGLOT_VAR set to the
stack's var folder, and DATABASE_URL / REDIS_URL pointing at the services found or started for it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from config import serve
from config.supervisor import Supervisor

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

WEB_SERVERS = ("granian", "gunicorn", "uvicorn")


def worker_env() -> dict[str, str]:
    """The worker's torch threads (WORKER_TORCH_THREADS, default 1). On a machine it shares with the
    web server and PostgreSQL, more intra-op threads than free cores make OpenMP spin: measured on
    2 busy cores, a 2-passage batch took 1,130 ms with 2 threads and 80 ms with 1."""
    threads = os.environ.get("WORKER_TORCH_THREADS") or "1"
    return {"HELPDESK_TORCH_THREADS": threads, "OMP_NUM_THREADS": threads, "HELPDESK_WARM_ENCODER": "1",
            "DATABASE_APPLICATION_NAME": "polyglot-worker"}


def embedder_concurrency() -> str:
    """Pool processes of the embedder (EMBEDDER_CONCURRENCY, default 1; each holds its own model)."""
    return os.environ.get("EMBEDDER_CONCURRENCY") or "1"


def web_argv(port: int, *, host: str = "127.0.0.1", server: str = "granian") -> list[str]:
    """The command serving the desk on host:port. `granian` is what `make run` and docker use
    (`python -m config.serve`); the others are there to measure it against (bench widget_load)."""
    workers, threads = str(serve.workers()), str(serve.threads())
    if server == "granian":
        return [PYTHON, "-m", "config.serve", "--bind", f"{host}:{port}"]
    if server == "gunicorn":
        return [PYTHON, "-m", "gunicorn", "--bind", f"{host}:{port}", "--worker-class", "gthread",
                "--workers", workers, "--threads", threads, "--no-control-socket", "config.wsgi:application"]
    if server == "uvicorn":
        return [PYTHON, "-m", "uvicorn", "--host", host, "--port", str(port), "--workers", workers,
                "--no-access-log", "config.asgi:application"]
    raise ValueError(f"unknown web server {server!r}; one of {', '.join(WEB_SERVERS)}")


def web_env() -> dict[str, str]:
    """Environment of the web processes (config.serve sets the same for itself)."""
    return serve.environment()


def web_workers() -> int:
    return serve.workers()


def web_threads() -> int:
    return serve.threads()


def max_web_connections() -> int:
    return serve.workers() * serve.threads()


def add_programs(supervisor: Supervisor, var_dir: Path, *, web_port: int, host: str = "127.0.0.1") -> Supervisor:
    """Add the desk's own processes to `supervisor`: the Celery worker and embedder, beat and the web server.

    One line per program: `supervisor.add(name, argv, env=...)`; it is started, logged to
    `<log_dir>/<name>.log`, restarted and stopped like the others.
    """
    var_dir = Path(var_dir)
    # Two workers: "worker" takes the default queue (imports, suggestions, email, the sweeps) and
    # "embedder" the embeddings queue, so a long import and the embedding of its passages run side by
    # side, and an embedding backlog of minutes never holds up an import or a sweep (one worker for
    # both queues served them in turn, a 64-passage task at a time). Beat is its own process: a killed
    # worker cannot orphan it, and a killed beat is restarted; its pid file refuses a second copy.
    # Stopped with SIGQUIT: Celery's soft shutdown gives running tasks CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT
    # seconds, then hands them back to the broker (SIGTERM would wait for them however long they take).
    celery = [PYTHON, "-m", "celery", "-A", "config", "worker", "-l", "info", "--without-gossip", "--without-mingle"]
    supervisor.add("worker", [*celery, "-Q", "default", "-c", "1", "-n", "desk@%h"], env=worker_env(),
                   stop_signal=signal.SIGQUIT, stop_timeout=30)
    supervisor.add("embedder", [*celery, "-Q", "embeddings", "-c", embedder_concurrency(), "-n", "embed@%h"],
                   env={**worker_env(), "DATABASE_APPLICATION_NAME": "polyglot-embedder"},
                   stop_signal=signal.SIGQUIT, stop_timeout=30)
    supervisor.add("beat", [PYTHON, "-m", "celery", "-A", "config", "beat", "-l", "info",
                            "-s", str(var_dir / "celerybeat-schedule"), "--pidfile", str(var_dir / "celerybeat.pid")],
                   env={"DATABASE_APPLICATION_NAME": "polyglot-beat"})
    supervisor.add("web", web_argv(web_port, host=host), env=web_env())
    return supervisor


def add_widget_demo(supervisor: Supervisor, *, port: int, web_port: int, host: str = "127.0.0.1") -> None:
    """A stand-in customer site on its own origin, embedding the widget with the demo site's key
    (add it once the demo data is loaded: without the demo site it has no key to embed)."""
    supervisor.add("widget-demo", [PYTHON, "manage.py", "widget_demo_host", "--port", str(port),
                                   "--api", f"http://{host}:{web_port}"])


class Stack(Supervisor):
    """A Supervisor that also stops the embedded PostgreSQL and Redis it started for its var folder."""

    var_dir: Path
    services: list[str]

    def stop(self) -> None:
        super().stop()
        from config import embedded

        with _var_dir(self.var_dir):
            if "redis" in self.services:
                embedded.stop_redis()
            if "postgres" in self.services:
                embedded.stop_postgres()


def start_stack(var_dir: str | Path, *, web_port: int, env: dict[str, str] | None = None,
                migrate: bool = True) -> Stack:
    """Start the supervised desk (worker, embedder, beat, web on 127.0.0.1:web_port) on `var_dir`'s data and
    return it running; `.stop()` stops the programs and any embedded service started here.

    Without DATABASE_URL / REDIS_URL (in `env` or this process's environment) the embedded
    PostgreSQL and Redis of `var_dir` are started first (once, here: the programs starting together
    must not race to create them), and the database is migrated unless `migrate=False`.
    """
    from config import embedded

    var_dir = Path(var_dir).resolve()
    (var_dir / "log").mkdir(parents=True, exist_ok=True)
    env = dict(env or {})
    base_env = {"DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONUNBUFFERED": "1", "POLYGLOT_VAR": str(var_dir)}
    services = []
    with _var_dir(var_dir):
        if not (env.get("DATABASE_URL") or os.environ.get("DATABASE_URL")):
            if not embedded.postgres_running():
                services.append("postgres")
            base_env["DATABASE_URL"] = embedded.database_url(embedded.postgres_settings())
        if not (env.get("REDIS_URL") or os.environ.get("REDIS_URL")):
            was_running = embedded.redis_running()
            base_env["REDIS_URL"] = embedded.redis_url()
            if not was_running:
                services.append("redis")
    full_env = {**os.environ, **base_env, **env}
    if migrate:
        subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=full_env, check=True)
    stack = Stack(var_dir / "log", cwd=ROOT, env={**base_env, **env})
    stack.var_dir, stack.services = var_dir, services
    add_programs(stack, var_dir, web_port=web_port)
    for program in stack.programs.values():
        program.env.update(env)  # the caller's settings win over the programs' defaults
    stack.start()
    return stack


@contextmanager
def _var_dir(path: Path):
    """Point config.embedded at another var folder for a moment (it reads POLYGLOT_VAR at call time),
    leaving its record of what this process started for its own folder as it was."""
    from config import embedded

    previous, started = os.environ.get("POLYGLOT_VAR"), set(embedded.started_here)
    os.environ["POLYGLOT_VAR"] = str(path)
    try:
        yield
    finally:
        embedded.started_here.clear()
        embedded.started_here.update(started)
        if previous is None:
            os.environ.pop("POLYGLOT_VAR", None)
        else:
            os.environ["POLYGLOT_VAR"] = previous
