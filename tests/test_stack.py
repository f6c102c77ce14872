"""The supervised stack `make run` starts: granian with bounded connections, a worker and beat
that come back when killed, and nothing left running after stop."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import threading

import psutil
import pytest
from django.db import connection

from config import stack as desk_stack
from tests.conftest import service_env, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    except OSError:
        return 0, b""
    finally:
        conn.close()


def _web_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'polyglot-web'")
        return cursor.fetchone()[0]


def _beats(var_dir) -> list[psutil.Process]:
    schedule = str(var_dir / "celerybeat-schedule")
    return [p for p in psutil.process_iter(["cmdline"]) if schedule in (p.info["cmdline"] or [])]


@pytest.fixture
def stack(tmp_path, monkeypatch):
    from config.celery import app

    app.control.purge()
    monkeypatch.setenv("WEB_CONCURRENCY", "2")
    monkeypatch.setenv("WEB_THREADS", "3")
    port = _free_port()
    running = desk_stack.start_stack(tmp_path, web_port=port, migrate=False,
                                     env={**service_env(), "HELPDESK_WARM_ENCODER": "0"})
    running.port = port
    yield running
    running.stop()
    app.control.purge()  # what the killed or stopped worker handed back: not for the next test's worker


def test_the_web_server_holds_at_most_workers_times_threads_connections_under_16_clients(stack):
    wait_until(lambda: _get(stack.port, "/healthz")[0] == 200, timeout=120,
               message=f"the web server\n{(stack.log_dir / 'web.log').read_text()[-3000:]}")
    statuses, peak, done = [], [0], threading.Event()

    def sample():
        try:
            while not done.wait(0.05):
                peak[0] = max(peak[0], _web_connections())
        finally:
            connection.close()  # this thread's own connection

    def client():
        for _ in range(15):
            statuses.append(_get(stack.port, "/healthz")[0])
            statuses.append(_get(stack.port, "/accounts/login/")[0])

    sampler = threading.Thread(target=sample)
    sampler.start()
    clients = [threading.Thread(target=client) for _ in range(16)]
    for t in clients:
        t.start()
    for t in clients:
        t.join()
    done.set()
    sampler.join()
    assert statuses.count(200) == len(statuses) == 16 * 30
    assert 1 <= peak[0] <= 2 * 3  # WEB_CONCURRENCY × WEB_THREADS
    body = json.loads(_get(stack.port, "/healthz")[1])
    assert body == {"status": "ok", "database": "ok", "redis": "ok", "encoder": "off"}


def test_a_killed_worker_and_a_killed_beat_come_back_and_beat_never_runs_twice(stack, tmp_path):
    from config.celery import app

    worker, beat = stack["worker"], stack["beat"]
    wait_until(lambda: app.control.ping(timeout=0.5), timeout=120,
               message=f"the worker\n{(stack.log_dir / 'worker.log').read_text()[-3000:]}")
    wait_until(lambda: len(_beats(tmp_path)) == 1, timeout=60, message="beat")
    first_worker, first_beat = worker.pid, beat.pid

    os.kill(first_worker, signal.SIGKILL)  # the main process, as an OOM killer would
    wait_until(lambda: worker.running and worker.pid != first_worker, timeout=30, message="the worker's restart")
    wait_until(lambda: app.control.ping(timeout=0.5), timeout=120,
               message=f"the restarted worker\n{(stack.log_dir / 'worker.log').read_text()[-3000:]}")
    assert beat.pid == first_beat and [p.pid for p in _beats(tmp_path)] == [first_beat]

    os.kill(first_beat, signal.SIGKILL)
    wait_until(lambda: beat.running and beat.pid != first_beat, timeout=30, message="beat's restart")
    wait_until(lambda: [p.pid for p in _beats(tmp_path)] == [beat.pid], timeout=30, message="one beat")

    pids = [p.pid for p in stack.programs.values()]
    children = [c.pid for pid in pids for c in psutil.Process(pid).children(recursive=True)]
    stack.stop()
    assert not [pid for pid in pids + children if psutil.pid_exists(pid)
                and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    log = (stack.log_dir / "supervisor.log").read_text()
    assert f"worker (pid {first_worker}) exited with signal SIGKILL" in log
    assert f"beat (pid {first_beat}) exited with signal SIGKILL" in log
