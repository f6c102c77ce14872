"""`make run`'s supervisor: what dies comes back (with backoff, logged), and nothing outlives it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from config.supervisor import Supervisor
from tests.conftest import ROOT, wait_until


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is dead for our purposes.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_a_killed_program_is_restarted_with_growing_delays_and_each_restart_is_logged(tmp_path):
    supervisor = Supervisor(tmp_path, cwd=tmp_path, say=lambda line: None)
    sleeper = supervisor.add("sleeper", ["sleep", "300"])
    crasher = supervisor.add("crasher", ["sh", "-c", "echo starting; exit 3"])
    supervisor.start()
    try:
        first = sleeper.pid
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: sleeper.running and sleeper.pid != first, timeout=10, message="the sleeper's restart")
        assert sleeper.restarts == 1
        wait_until(lambda: crasher.restarts >= 3, timeout=20, message="three restarts of the crasher")
    finally:
        supervisor.stop()
    # 1 s, 2 s, 4 s between the crasher's quick exits: it never spins.
    starts = [t for t, _ in crasher.exits]
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert gaps[0] >= 0.9 and gaps[1] >= 1.9 and gaps[1] > gaps[0]
    log = (tmp_path / "supervisor.log").read_text()
    assert f"sleeper (pid {first}) exited with signal SIGKILL" in log
    assert "crasher" in log and "exited with status 3" in log
    assert (tmp_path / "crasher.log").read_text().count("starting") >= 3
    assert not _alive(sleeper.pid)


def test_stop_ends_every_program_and_its_children(tmp_path):
    supervisor = Supervisor(tmp_path, cwd=tmp_path, say=lambda line: None)
    # A parent that ignores SIGTERM and has a child: both must be gone after stop().
    program = supervisor.add("stubborn", ["sh", "-c", "trap '' TERM; sleep 300 & wait"], stop_timeout=1)
    supervisor.start()
    wait_until(lambda: _children(program.pid), timeout=10, message="the program's child")
    child = _children(program.pid)[0]
    supervisor.stop()
    wait_until(lambda: not _alive(child), timeout=5, message="the child to be gone")
    assert not _alive(program.pid)
    assert "did not stop in 1s: killed" in (tmp_path / "supervisor.log").read_text()


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
def test_programs_do_not_outlive_a_supervisor_killed_with_sigkill(tmp_path):
    script = (
        "import sys, time\n"
        "from config.supervisor import Supervisor\n"
        f"s = Supervisor({str(tmp_path)!r}, cwd={str(tmp_path)!r})\n"
        "s.add('sleeper', ['sleep', '300'])\n"
        "s.start()\n"
        "print(s['sleeper'].pid, flush=True)\n"
        "time.sleep(300)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        pid = int(parent.stdout.readline())
        assert _alive(pid)
        parent.kill()
        parent.wait(10)
        wait_until(lambda: not _alive(pid), timeout=5, message="the orphan to be stopped")
    finally:
        if parent.poll() is None:
            parent.kill()


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except FileNotFoundError:
        return []

