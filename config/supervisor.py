"""Keep a set of processes running: start them, restart whichever dies (with backoff, logged), stop
them all cleanly.

    supervisor = Supervisor(log_dir, cwd=ROOT)
    supervisor.add("smtp", [sys.executable, "-m", "aiosmtpd", "-n", "-l", "127.0.0.1:8025"])  # one line per program
    supervisor.start()          # a watcher thread starts each program and restarts what exits
    supervisor["smtp"].pid      # handles by name
    supervisor.stop()           # SIGTERM in reverse order, SIGKILL after each program's stop_timeout

Each program runs in its own session (Ctrl-C in the terminal reaches only the supervisor, which stops
the programs in order) with its output appended to `<log_dir>/<name>.log`. On Linux each one also
gets SIGTERM from the kernel if the supervisor itself dies (even by SIGKILL), so nothing it started
is orphaned. Restarts and exits are printed and appended to `<log_dir>/supervisor.log`.

Why not supervisord or circus: `make run` and the fault benchmarks need the table in-process (to wait
for readiness, print progress, and hand out pids to kill), which a second daemon with its own config
file and control socket would only put at arm's length.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# Backoff between restarts: 1 s, doubling for each exit that follows a short run, at most 30 s.
FIRST_DELAY = 1.0
MAX_DELAY = 30.0
STABLE_AFTER = 30.0  # a program that ran this long before exiting starts again after FIRST_DELAY

# Run by the child between fork and exec of the real program: ask the kernel for SIGTERM when the
# supervisor dies, and give up if it already has. Survives exec, so it covers the real program.
_LAUNCHER = (
    "import ctypes, os, signal, sys\n"
    "ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG\n"
    "if os.getppid() != int(sys.argv[1]): os._exit(1)\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)


@dataclass
class Program:
    """One supervised program and its current process (`pid` changes when it is restarted)."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    stop_timeout: float = 20.0
    stop_signal: int = signal.SIGTERM
    popen: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    exits: list[tuple[float, int]] = field(default_factory=list)  # (monotonic time, exit status)
    _quick_exits: int = 0  # exits in a row, each after a run shorter than STABLE_AFTER
    _restart_at: float | None = None

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen is not None else None

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def send(self, signum: int) -> None:
        """Send `signum` to the program's main process (not its children): what a fault drill does."""
        if self.running:
            os.kill(self.popen.pid, signum)


class Supervisor:
    def __init__(self, log_dir: Path, *, cwd: Path, env: dict[str, str] | None = None,
                 say: Callable[[str], None] | None = None, poll_interval: float = 0.2):
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.cwd = cwd
        self.env = {**os.environ, **(env or {})}
        self.say = say or (lambda line: print(line, flush=True))
        self.poll_interval = poll_interval
        self.programs: dict[str, Program] = {}
        self._stopping = threading.Event()
        self._started = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, name: str, argv: list[str], *, env: dict[str, str] | None = None, stop_timeout: float = 20.0,
            stop_signal: int = signal.SIGTERM) -> Program:
        """Register a program; started by `start()` (or at once, when the supervisor already runs).

        `stop()` sends it `stop_signal` and, after `stop_timeout` seconds, SIGKILL to its process group.
        """
        if name in self.programs:
            raise ValueError(f"a program named {name!r} is already supervised")
        program = Program(name, list(argv), dict(env or {}), stop_timeout, stop_signal)
        if self._thread is not None:
            program._restart_at = time.monotonic()  # the watcher starts it on its next round
        self.programs[name] = program
        return program

    def __getitem__(self, name: str) -> Program:
        return self.programs[name]

    def start(self) -> Supervisor:
        """Start every program from a watcher thread, which then restarts whatever exits."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)
            self._thread.start()
            self._started.wait(60)
        return self

    def stop(self) -> None:
        """Stop every program, last added first: its stop signal, then SIGKILL after its stop_timeout."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()

    def dead(self) -> list[Program]:
        """Programs not running right now (waiting for their restart)."""
        return [p for p in self.programs.values() if not p.running]

    # ------------------------------------------------------------------ the watcher thread
    # Programs are spawned from this thread only: the kernel's parent-death signal follows the thread
    # that forked, so it must live as long as they do.

    def _watch(self) -> None:
        try:
            for program in self.programs.values():
                self._spawn(program)
        finally:
            self._started.set()
        while not self._stopping.wait(self.poll_interval):
            now = time.monotonic()
            for program in list(self.programs.values()):
                if program.popen is not None and program._restart_at is None and program.popen.poll() is not None:
                    self._exited(program, now)
                if program._restart_at is not None and now >= program._restart_at:
                    program._restart_at = None
                    if program.popen is not None:
                        program.restarts += 1
                    self._spawn(program)
        self._stop_all()

    def _spawn(self, program: Program) -> None:
        if program.popen is not None:
            _kill_group(program.popen.pid, signal.SIGKILL)  # leftovers of the last run (e.g. pool children)
        argv = program.argv
        if sys.platform == "linux":
            argv = [sys.executable, "-S", "-c", _LAUNCHER, str(os.getpid()), *argv]
        with open(self.log_dir / f"{program.name}.log", "ab") as log:
            program.popen = subprocess.Popen(argv, cwd=self.cwd, env={**self.env, **program.env}, stdout=log,
                                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                             start_new_session=True)
        program.started_at = time.monotonic()

    def _exited(self, program: Program, now: float) -> None:
        status = program.popen.returncode
        program.exits.append((now, status))
        ran = now - program.started_at
        program._quick_exits = 0 if ran >= STABLE_AFTER else program._quick_exits + 1
        delay = min(MAX_DELAY, FIRST_DELAY * 2 ** max(0, program._quick_exits - 1))
        program._restart_at = now + delay
        how = f"signal {signal.Signals(-status).name}" if status < 0 else f"status {status}"
        self._log(f"{program.name} (pid {program.popen.pid}) exited with {how} after {ran:.0f}s; "
                  f"restarting in {delay:.0f}s (restart {program.restarts + 1}); log: {self.log_dir / program.name}.log")

    def _stop_all(self) -> None:
        running = [p for p in reversed(list(self.programs.values())) if p.running]
        for program in running:
            # The main process only: it stops its own children (granian's workers, Celery's pool) in order.
            program.send(program.stop_signal)
        deadline = time.monotonic()
        for program in running:
            try:
                program.popen.wait(max(0.0, deadline + program.stop_timeout - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._log(f"{program.name} did not stop in {program.stop_timeout:.0f}s: killed")
            _kill_group(program.popen.pid, signal.SIGKILL)  # and anything it left behind
            program.popen.wait()
            _wait_group_gone(program.popen.pid)

    def _log(self, line: str) -> None:
        self.say(f"  [supervisor] {line}")
        with open(self.log_dir / "supervisor.log", "a") as log:
            log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")


def _wait_group_gone(pgid: int, timeout: float = 5.0) -> None:
    """Wait until the kernel has removed every member of the process group (SIGKILL is not instant)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.05)


def _kill_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass
