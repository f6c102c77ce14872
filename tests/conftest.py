"""Shared fixtures: the real embedded PostgreSQL + pgvector and Redis, and a real Celery worker.

Settings start the embedded services (under POLYGLOT_VAR, `var/test` from `make test`) before
this file is read; pytest-django creates `test_polyglot` in that server.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from config import embedded

ROOT = Path(__file__).resolve().parent.parent


def pytest_sessionstart(session):
    # As `make run`'s step 4: build the default encoder's model once (~20 s on a fresh machine),
    # before a test's web server or Celery worker would build it under a test's timeout.
    from embeddings.catalog import prepare_model
    from helpdesk import conf

    prepare_model(conf.DEFAULTS["ENCODER"])


def pytest_sessionfinish(session, exitstatus):
    # Stop only what this run started, so a developer's running services are left alone.
    if "redis" in embedded.started_here:
        embedded.stop_redis()
    if "postgres" in embedded.started_here:
        from django.db import connections

        connections.close_all()
        embedded.stop_postgres()


def wait_until(predicate, *, timeout: float = 60.0, interval: float = 0.2, message: str = "condition"):
    """Poll `predicate` until it returns a truthy value; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {message}")
        time.sleep(interval)


def service_env(**extra) -> dict:
    """Environment for a child process that must use this test run's database and broker."""
    from django.conf import settings
    from django.db import connection

    from helpdesk import conf

    env = dict(os.environ)
    env.update(
        DATABASE_URL=embedded.database_url(connection.settings_dict),
        REDIS_URL=settings.REDIS_URL,
        HELPDESK_ENCODER=conf.get("ENCODER"),
        HF_HUB_OFFLINE="1",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class WorkerProcess:
    """A `celery worker` subprocess consuming both queues, with its log kept for failures."""

    def __init__(self, log_path: Path, env: dict):
        self.log_path = log_path
        self.env = env
        self.proc: subprocess.Popen | None = None

    def start(self, *, ready_timeout: float = 90.0):
        from config.celery import app

        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "default,embeddings",
             "-c", "1", "--pool", "prefork", "-l", "info", "-n", f"test-{os.getpid()}-{time.time_ns()}@%h",
             "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + ready_timeout
        while not app.control.ping(timeout=0.5):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"celery worker did not start:\n{self.tail()}")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if getattr(self, "log", None):
            self.log.close()

    def tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


@pytest.fixture(scope="module")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real Celery worker process on the embedded Redis, writing to the test database.

    Module-scoped: tests elsewhere override HELPDESK settings in-process (e.g. a hashing encoder),
    which a worker started from the environment would not share, so it must not outlive its module.
    """
    from config.celery import app

    with django_db_blocker.unblock():
        env = service_env()
    app.control.purge()
    worker = WorkerProcess(tmp_path_factory.mktemp("worker") / "celery.log", env).start()
    yield worker
    worker.stop()


@pytest.fixture(autouse=True)
def _fresh_suggestion_cache():
    """Redis outlives each test's rolled-back database: answers cached by one test must not reach the next."""
    from helpdesk import suggestion_cache, widget_site_cache
    from helpdesk.selectors.suggestions import forget_ranking_models

    suggestion_cache.kb_changed()
    widget_site_cache.sites_changed()
    forget_ranking_models()  # a ranking model a test stored is rolled back with it
