"""Fuzz the desk over HTTP: thousands of hostile requests against a real server; status codes and hangs.

The requests come from the Hypothesis strategies of the property tests (`tests/hostile.py`): hostile
JSON bodies (deep nesting, NaN/Infinity/1e400, huge integers, NUL, lone surrogates, invalid UTF-8),
headers (Origin, Referer, X-Forwarded-For, Content-Type), query strings and URL segments, for every
endpoint in its catalog: the public widget API, the agents' JSON API, and dashboard pages and forms
(signed in as an agent or an admin, with a valid CSRF token so forms are really processed).
The server is Django's threaded WSGI server in a child process (DEBUG off; `make run`'s own server is
the "ops" area: point `serve` at it once it lands), on a scratch database
(`bench_fuzz`); the target is 0 answers ≥ 500 and 0 hangs (no answer within --timeout seconds).

    python -m bench fuzz [--requests 10000] [--clients 8] [--timeout 10] [--seed N] [--encoder hashing]
"""

from __future__ import annotations

import argparse
import http.client
import os
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from config import embedded

ROOT = Path(__file__).resolve().parent.parent


def generate(world, total: int, seed: int) -> list:
    """`total` probes spread evenly over the catalog's endpoints, drawn by Hypothesis."""
    from tests.hostile import ENDPOINTS, probes

    per_endpoint = -(-total // len(ENDPOINTS))
    drawn: list = []
    for endpoint in ENDPOINTS:
        drawn.extend(_draw(probes(endpoint, world), per_endpoint, seed))
    return drawn


def _draw(strategy, count: int, seed: int) -> list:
    from hypothesis import HealthCheck, Phase, given, seed as hypothesis_seed, settings

    bucket: list = []

    @hypothesis_seed(seed)
    @settings(max_examples=count, phases=[Phase.generate], database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(probe):
        bucket.append(probe)

    while len(bucket) < count:
        collect()
    return bucket[:count]


class Sender(threading.Thread):
    def __init__(self, port: int, probes: list, cookies: dict, csrf: str, timeout: float):
        super().__init__(daemon=True)
        self.port, self.probes, self.cookies, self.csrf, self.timeout = port, probes, cookies, csrf, timeout
        self.statuses: Counter = Counter()
        self.problems: list[str] = []
        self.hangs: list[str] = []
        self.latencies: list[float] = []

    def connect(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)

    def run(self):
        from tests.hostile import check_answer

        conn = self.connect()
        for probe in self.probes:
            headers = dict(probe.headers)
            if probe.content_type:
                headers["Content-Type"] = probe.content_type
            if probe.endpoint.audience in ("agent", "admin"):
                headers["Cookie"] = f"sessionid={self.cookies[probe.endpoint.audience]}; csrftoken={self.csrf}"
                headers["X-CSRFToken"] = self.csrf
            started = time.perf_counter()
            try:
                conn.request(probe.method, probe.path, body=probe.body, headers=headers)
                response = conn.getresponse()
                body = response.read()
                status = response.status
                problem = check_answer(probe, status, response.getheader("Content-Type", ""), body)
                self.latencies.append(time.perf_counter() - started)
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = self.connect()
            except TimeoutError:
                self.hangs.append(probe.describe())
                status, problem = "hang", None
                conn.close()
                conn = self.connect()
            except (OSError, http.client.HTTPException) as exc:
                status, problem = f"dropped ({type(exc).__name__})", None
                conn.close()
                conn = self.connect()
            self.statuses[status] += 1
            if problem:
                self.problems.append(problem)
        conn.close()


def sign_in_cookies(users: dict) -> dict:
    """A session cookie per role, made the way Django's test client signs in (the scratch DB's sessions)."""
    from django.test import Client

    cookies = {}
    for role, user in users.items():
        client = Client()
        client.force_login(user)
        cookies[role] = client.cookies["sessionid"].value
    return cookies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000, help="how many hostile requests (at least)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent connections")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds without an answer that count as a hang")
    parser.add_argument("--seed", type=int, default=13, help="Hypothesis seed (the same seed, the same requests)")
    parser.add_argument("--encoder", default="hashing",
                        help="HELPDESK ENCODER for this run (default: the fast stand-in; input handling is the subject)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if args.serve:
        serve(args.serve)
        return 0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ["HELPDESK_ENCODER"] = args.encoder
    sys.path.insert(0, str(ROOT))  # tests.hostile: the property tests' strategies
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from tests.dashboard_support import make_user
    from tests.hostile import ENDPOINTS, make_world

    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = "bench_fuzz"
    original_name = settings.DATABASES["default"]["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    server = None
    try:
        world = make_world()
        cookies = sign_in_cookies({"agent": make_user("fuzz-agent", "agent"), "admin": make_user("fuzz-admin", "admin")})
        started = time.perf_counter()
        drawn = generate(world, args.requests, args.seed)
        print(f"{len(drawn)} requests drawn for {len(ENDPOINTS)} endpoints in {time.perf_counter() - started:.1f} s "
              f"(seed {args.seed})", flush=True)

        from bench.widget_load import free_port

        port = free_port()
        env = dict(os.environ, DATABASE_URL=embedded.database_url(connection.settings_dict), REDIS_URL=settings.REDIS_URL,
                   DEBUG="0", PYTHONUNBUFFERED="1")
        log_path = Path(settings.VAR_DIR) / "bench-fuzz-server.log"
        log = open(log_path, "wb")
        server = subprocess.Popen([sys.executable, "-m", "bench.fuzz", "--serve", str(port)], cwd=ROOT, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while not _still_serves(port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start; see {log_path}")
            time.sleep(0.3)

        _warm_up(port, world)
        csrf = secrets.token_hex(16)  # a 32-character secret, sent as cookie and header alike
        senders = [Sender(port, drawn[i::args.clients], cookies, csrf, args.timeout) for i in range(args.clients)]
        load = os.getloadavg()[0]
        started = time.perf_counter()
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        elapsed = time.perf_counter() - started
        statuses = sum((s.statuses for s in senders), Counter())
        problems = [p for s in senders for p in s.problems]
        hangs = [h for s in senders for h in s.hangs]
        alive = _still_serves(port)
        latencies = sorted(x for s in senders for x in s.latencies)

        sent = sum(statuses.values())
        server_errors = sum(n for code, n in statuses.items() if isinstance(code, int) and code >= 500)
        print(f"sent {sent} requests over {args.clients} connections in {elapsed:.1f} s ({sent / elapsed:.0f} req/s); "
              f"load average before {load:.1f}, after {os.getloadavg()[0]:.1f}; {os.cpu_count()} CPU cores")
        if latencies:
            print(f"answered: p50 {latencies[len(latencies) // 2] * 1000:.0f} ms, "
                  f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.0f} ms, slowest {latencies[-1]:.1f} s")
        print("status  count")
        for code, n in sorted(statuses.items(), key=lambda item: str(item[0])):
            print(f"{code!s:>6}  {n}")
        print(f"5xx: {server_errors}   hangs (no answer in {args.timeout:.0f} s): {len(hangs)}   "
              f"JSON endpoints answering a 4xx without a JSON error: {len(problems) - server_errors}   "
              f"server still answering afterwards: {'yes' if alive else 'NO'}")
        for line in (problems + hangs)[:10]:
            print("  ", line[:400])
        if problems or hangs:
            print(f"server log: {log_path}")
        return 0 if not problems and not hangs and alive else 1
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        connection.creation.destroy_test_db(original_name, verbosity=0)


def serve(port: int) -> None:
    """Child process: the desk on 127.0.0.1:port (DATABASE_URL / REDIS_URL come from the parent)."""
    import django
    from django.core.servers.basehttp import run
    from django.core.wsgi import get_wsgi_application

    django.setup()
    run("127.0.0.1", port, get_wsgi_application(), threading=True)


def _warm_up(port: int, world) -> None:
    """One ordinary question first: the language detectors and the encoder load on first use, which on a
    loaded machine takes longer than the hang timeout and is not what the fuzz measures."""
    from tests.hostile import HOST_ORIGIN

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        conn.request("GET", f"/desk/widget/v1/{world.key}/suggest/?q=How+do+I+reset+my+password%3F",
                     headers={"Origin": HOST_ORIGIN})
        assert conn.getresponse().status == 200, "the warm-up question was not answered"
    finally:
        conn.close()


def _still_serves(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/accounts/login/")
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
