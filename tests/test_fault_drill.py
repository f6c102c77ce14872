"""The fault drill, short: a fresh desk imports while its worker's pool processes and main process
are SIGKILLed, Redis is stopped and PostgreSQL is stopped; everything arrives once, embedded, with no
manual step. `python -m bench faults` is the full-size drill (2,000 articles, 30 s and 60 s outages)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.worker


def test_imports_survive_killed_workers_and_stopped_redis_and_postgresql():
    # Under the test run's var folder, not pytest's tmp_path: as root, the embedded PostgreSQL runs
    # as the `pgserver` user, who cannot enter pytest's private temporary folders to stop it.
    var = ROOT / (os.environ.get("POLYGLOT_VAR") or "var/test") / "fault-drill"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "POLYGLOT_VAR")}
    # The hashing encoder: this is about recovery, not the model; sweeps every 5 s instead of 60 s.
    env.update(HELPDESK_ENCODER="hashing", PYTHONUNBUFFERED="1", HF_HUB_OFFLINE="1")
    run = subprocess.run(
        [sys.executable, "-m", "bench", "faults", "--articles", "200", "--redis-outage", "5", "--postgres-outage", "8",
         "--sweep-seconds", "5", "--timeout", "150", "--var", str(var)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=420,
    )
    output = run.stdout + run.stderr
    lines = [line for line in run.stdout.splitlines() if line.startswith('{"articles_missing"')]
    result = json.loads(lines[-1]) if lines else {}
    assert result, output[-4000:]
    assert (result["articles_missing"], result["passages_unembedded"], result["duplicates"],
            result["stranded_jobs"]) == (0, 0, 0, 0), output[-4000:]
    assert result["worker_restarts"] >= 1  # the main process was killed and came back by itself
    assert run.returncode == 0, output[-4000:]
