"""Widget suggest endpoint under load: concurrent clients on loopback; throughput, p50/p95/p99 latency
and the PostgreSQL connections the server held.

The desk is served the way `make run` and docker serve it (`config.stack.web_argv`: gunicorn with
threaded workers and a bounded psycopg pool, DEBUG off) in child processes, against a scratch
database (`bench_widget`) holding the demo knowledge base (all its articles and translations,
embedded with the configured encoder). `--server granian|uvicorn|django` serves it another way for
comparison (django = the threaded development server, a new connection per request thread). Each
client is a thread here with one keep-alive connection, sending the widget's type-ahead request
GET /desk/widget/v1/<key>/suggest/?q=... with the site's allowed Origin, so the whole public path
runs: key and origin check, two Redis rate-limit counters, language detection, dense + lexical
retrieval, JSON. Questions cycle through the demo tickets' subjects and first messages (5 languages).
Connections: backends on the scratch database, sampled every 50 ms (the sampler's own excluded).

    python -m bench widget_load [--clients 1,4,16] [--seconds 15] [--encoder NAME] [--server NAME]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

from config import embedded

ROOT = Path(__file__).resolve().parent.parent
DEMO_KB = ROOT / "helpdesk" / "demo" / "kb.json"
ORIGIN = "http://shop.bench.invalid"


def questions() -> list[str]:
    tickets = json.loads(DEMO_KB.read_text())["tickets"]
    texts = []
    for ticket in tickets:
        texts.append(ticket["subject"])
        texts.append(ticket["messages"][0]["body"][:300])
    return [" ".join(t.split()) for t in texts if t.strip()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


class Client(threading.Thread):
    def __init__(self, port: int, path: str, texts: list[str], offset: int, stop_at: float):
        super().__init__(daemon=True)
        self.port, self.path, self.texts, self.i, self.stop_at = port, path, texts, offset, stop_at
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.answered = 0

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while time.perf_counter() < self.stop_at:
            text = self.texts[self.i % len(self.texts)]
            self.i += 1
            url = f"{self.path}?{urlencode({'q': text, 'locale': 'en'})}"
            start = time.perf_counter()
            try:
                conn.request("GET", url, headers={"Origin": ORIGIN})
                response = conn.getresponse()
                body = response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                status = 0
                body = b""
            self.latencies.append(time.perf_counter() - start)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status == 200 and not json.loads(body).get("no_answer"):
                self.answered += 1
        conn.close()


def drive(port: int, path: str, texts: list[str], clients: int, seconds: float) -> dict:
    stop_at = time.perf_counter() + seconds
    threads = [Client(port, path, texts, offset=n * 7, stop_at=stop_at) for n in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies = sorted(x for t in threads for x in t.latencies)
    statuses: dict[int, int] = {}
    for t in threads:
        for status, n in t.statuses.items():
            statuses[status] = statuses.get(status, 0) + n
    ok = statuses.get(200, 0)
    return {
        "clients": clients, "requests": len(latencies), "ok": ok, "statuses": statuses,
        "throughput_rps": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 50) * 1000, "p95_ms": percentile(latencies, 95) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000, "mean_ms": statistics.fmean(latencies) * 1000 if latencies else 0,
        "answered_share": sum(t.answered for t in threads) / ok if ok else 0.0,
    }


class ConnectionSampler(threading.Thread):
    """Count PostgreSQL backends on one database every 50 ms; `peak()` is the most since `reset()`."""

    def __init__(self, conninfo: dict, dbname: str):
        super().__init__(daemon=True)
        import psycopg

        self.conn = psycopg.connect(**conninfo, autocommit=True)
        self.dbname, self.max, self.stopped = dbname, 0, threading.Event()

    def count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                                 [self.dbname]).fetchone()[0]

    def run(self):
        while not self.stopped.wait(0.05):
            self.max = max(self.max, self.count())

    def reset(self) -> None:
        self.max = self.count()

    def peak(self) -> int:
        return self.max

    def stop(self) -> None:
        self.stopped.set()
        self.join(2)
        self.conn.close()


def serve(port: int) -> None:
    """Child process for `--server django`: the development server's threaded WSGI server on port."""
    import django
    from django.core.servers.basehttp import WSGIServer, run
    from django.core.wsgi import get_wsgi_application

    class NoDelayServer(WSGIServer):
        # Django writes headers and body separately; without TCP_NODELAY, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every keep-alive response, which would measure the OS, not the desk.
        def get_request(self):
            conn, addr = super().get_request()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return conn, addr

    django.setup()
    run("127.0.0.1", port, get_wsgi_application(), threading=True, server_cls=NoDelayServer)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench widget_load", description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,4,16", help="comma-separated concurrency levels")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per level")
    parser.add_argument("--encoder", help="HELPDESK ENCODER for this run (default: the configured one)")
    parser.add_argument("--server", default="gunicorn", choices=["gunicorn", "granian", "uvicorn", "django"],
                        help="how the desk is served (default: gunicorn, what make run and docker use)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.encoder:
        os.environ["HELPDESK_ENCODER"] = args.encoder
    if args.serve:
        serve(args.serve)
        return 0

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from helpdesk.encoders import encoder_name
    from helpdesk.models import Article
    from helpdesk.services import knowledge
    from helpdesk.services.widget import save_site

    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = "bench_widget"
    original_name = settings.DATABASES["default"]["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    knowledge.enqueue_embedding = lambda chunk_ids: None  # embedded below, in this process
    server = sampler = None
    try:
        count = 0
        for item in json.loads(DEMO_KB.read_text())["articles"]:
            group = None
            for locale, t in item["translations"].items():
                article = knowledge.save_article(title=t["title"], body=t["body"], locale=locale,
                                                 status=Article.Status.PUBLISHED, translation_group=group)
                group = article.translation_group
                count += 1
        start = time.perf_counter()
        chunks = knowledge.embed_chunks(chunk_ids=knowledge.pending_chunk_ids())
        print(f"knowledge base: {count} published articles, {chunks} passages embedded with {encoder_name()} "
              f"in {time.perf_counter() - start:.1f} s", flush=True)
        site = save_site(name="bench", allowed_origins=ORIGIN, requests_per_minute=10**9,
                         client_requests_per_minute=10**9)

        port = free_port()
        from config import stack

        env = dict(os.environ, DATABASE_URL=embedded.database_url(connection.settings_dict), REDIS_URL=settings.REDIS_URL,
                   DEBUG="0", HELPDESK_ENCODER=os.environ.get("HELPDESK_ENCODER", settings.HELPDESK["ENCODER"]),
                   PYTHONUNBUFFERED="1", **stack.web_env())
        if args.server == "django":
            argv, bound = [sys.executable, "-m", "bench.widget_load", "--serve", str(port)], "unbounded"
            env.pop("DATABASE_POOL_SIZE")
        else:
            argv = stack.web_argv(port, server=args.server)
            bound = (f"at most {stack.max_web_connections()} ({stack.web_workers()} workers × "
                     f"{stack.web_threads()} threads, a pool each)")
        log = open(Path(settings.VAR_DIR) / "bench-widget-server.log", "wb")
        server = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        sampler = ConnectionSampler({k: v for k, v in connection.get_connection_params().items()
                                     if k in ("host", "port", "user", "password")}, connection.settings_dict["NAME"])
        max_connections = sampler.conn.execute("SHOW max_connections").fetchone()[0]
        path = f"/desk/widget/v1/{site.key}/suggest/"
        texts = questions()
        _wait_ready(port, path, server)
        connection.close()  # only the server's connections are counted from here on
        sampler.start()
        warm = _warm_up(port, path, texts)
        load = os.getloadavg()
        print(f"warm-up: {warm['requests']} requests; {len(texts)} distinct questions; server: {args.server}, DEBUG off; "
              f"PostgreSQL connections {bound}, max_connections {max_connections}; {os.cpu_count()} CPU cores "
              f"shared by server and clients; load average before the run {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}",
              flush=True)
        print(f"{'clients':>7} {'requests':>8} {'errors':>6} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
              f"{'p99 ms':>8} {'answered':>8} {'PG conns':>8}")
        figures = []
        for clients in [int(c) for c in args.clients.split(",") if c.strip()]:
            sampler.reset()
            f = drive(port, path, texts, clients=clients, seconds=args.seconds)
            f["max_pg_connections"] = sampler.peak()
            figures.append(f)
            errors = f["requests"] - f["ok"]
            print(f"{f['clients']:>7} {f['requests']:>8} {errors:>6} {f['throughput_rps']:>8.1f} "
                  f"{f['p50_ms']:>8.1f} {f['p95_ms']:>8.1f} {f['p99_ms']:>8.1f} {f['answered_share']:>8.0%} "
                  f"{f['max_pg_connections']:>8}", flush=True)
            if errors:
                print(f"        statuses: {f['statuses']}", flush=True)
        load = os.getloadavg()
        print(f"load average after the run {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}", flush=True)
        if args.json:
            args.json.write_text(json.dumps({"encoder": encoder_name(), "server": args.server, "levels": figures},
                                            indent=2))
    finally:
        if server is not None:
            server.terminate()  # gunicorn, granian and uvicorn stop their workers on SIGTERM
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
        if sampler is not None:
            sampler.stop()
        connection.close()
        connection.creation.destroy_test_db(original_name, verbosity=0)
    return 0


def _warm_up(port: int, path: str, texts: list[str], timeout: float = 120.0) -> dict:
    """Send requests until no answer is slow: every server process has loaded its model, filled its
    pool and caches (requests spread over the processes)."""
    deadline = time.monotonic() + timeout
    while True:
        warm = drive(port, path, texts, clients=4, seconds=3)
        if warm["p99_ms"] < 1000 or time.monotonic() > deadline:
            return warm


def _wait_ready(port: int, path: str, server: subprocess.Popen, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with status {server.returncode}; see var/bench-widget-server.log")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("GET", f"{path}?q=hello", headers={"Origin": ORIGIN})
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the server did not answer in time")


if __name__ == "__main__":
    sys.exit(main())
