"""Widget suggest endpoint under load: concurrent clients on loopback; throughput, p50/p95/p99 latency
and the PostgreSQL connections the server held.

The desk is served the way `make run` and docker serve it (`python -m config.serve`: granian with
threaded workers and a bounded psycopg pool, DEBUG off) in child processes, against a scratch
database (`bench_widget`) holding the demo knowledge base (all its articles and translations,
embedded with the configured encoder). `--server gunicorn,uvicorn,django` serves it other ways for
comparison, one after the other in the same run (gunicorn: gthread workers, same workers × threads
and pool; django = the threaded development server, a new connection per request thread). Each
client is a thread here with one keep-alive connection, sending the widget's type-ahead request
GET /desk/widget/v1/<key>/suggest/?q=... with the site's allowed Origin, so the whole public path
runs: key and origin check, two Redis rate-limit counters, language detection, dense + lexical
retrieval, JSON. Connections: backends on the scratch database, sampled every 50 ms (the sampler's
own excluded).

The questions are the demo tickets' subjects and first messages (28, 5 languages), in one of three
mixes, each measured at every client level:

- `cold`: every request a question never asked before (a popular question with a unique reference
  appended), so nothing is cached: no answer, no query vector. The worst case.
- `realistic`: 80 % repeats of the 28 popular questions, drawn with Zipf weights (1/rank), and 20 %
  never-asked ones, as customers of one desk ask the same few things and debounced typing resends
  the same text. The hit ratio printed is the server's own count of answer-cache hits.
- `repeat`: the 28 questions cycled (what earlier versions of this bench measured).

Before measuring, every popular question is asked until none is slow (each process has loaded its
model; the popular questions' answers are cached, as on a desk that has been up a while).

    python -m bench widget_load [--clients 1,4,16] [--seconds 15] [--mix cold,realistic] [--server NAME]
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
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


MIXES = ("cold", "realistic", "repeat")
NEW_SHARE = 0.2  # realistic mix: share of never-asked questions (--new-share)
_fresh = itertools.count(1)
_run_mark = random.Random().randrange(10**6)


class QuestionMix:
    """The next question a client asks, for one mix (see the module docstring)."""

    def __init__(self, mix: str, texts: list[str], seed: int, new_share: float = NEW_SHARE):
        if mix not in MIXES:
            raise SystemExit(f"unknown mix {mix!r}: {', '.join(MIXES)}")
        self.mix, self.texts, self.rng, self.i = mix, texts, random.Random(seed), seed * 7
        self.new_share = new_share
        self.weights = [1 / rank for rank in range(1, len(texts) + 1)]

    def _new(self) -> str:
        # A question asked once in this run: a popular one with a reference no other request has.
        return f"{self.rng.choice(self.texts)} (ref {_run_mark}-{next(_fresh)})"

    def next(self) -> str:
        self.i += 1
        if self.mix == "repeat":
            return self.texts[self.i % len(self.texts)]
        if self.mix == "cold" or self.rng.random() < self.new_share:
            return self._new()
        return self.rng.choices(self.texts, weights=self.weights)[0]


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
    def __init__(self, port: int, path: str, questions: QuestionMix, stop_at: float):
        super().__init__(daemon=True)
        self.port, self.path, self.questions, self.stop_at = port, path, questions, stop_at
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.answered = 0

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while time.perf_counter() < self.stop_at:
            text = self.questions.next()
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


def drive(port: int, path: str, texts: list[str], clients: int, seconds: float, mix: str = "repeat",
          new_share: float = NEW_SHARE) -> dict:
    stop_at = time.perf_counter() + seconds
    threads = [Client(port, path, QuestionMix(mix, texts, seed=n, new_share=new_share), stop_at=stop_at)
               for n in range(clients)]
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
        "mix": mix, "clients": clients, "requests": len(latencies), "ok": ok, "statuses": statuses,
        "throughput_rps": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 50) * 1000, "p95_ms": percentile(latencies, 95) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000, "mean_ms": statistics.fmean(latencies) * 1000 if latencies else 0,
        "answered_share": sum(t.answered for t in threads) / ok if ok else 0.0,
    }


class CpuMeter:
    """CPU seconds used by the server's process tree, PostgreSQL's, Redis and this process (the
    clients), so a figure measured on a shared machine can be turned into a per-request cost."""

    def __init__(self, server_pid: int, postgres_backend_pid: int, redis_pid: int | None):
        import psutil

        self.psutil = psutil
        self.roots = {"web": psutil.Process(server_pid), "postgres": psutil.Process(postgres_backend_pid).parent()}
        self.redis = psutil.Process(redis_pid) if redis_pid else None

    def _tree(self, root) -> float:
        total = 0.0
        for proc in [root, *root.children(recursive=True)]:
            try:
                t = proc.cpu_times()
                total += t.user + t.system
            except self.psutil.NoSuchProcess:
                pass
        return total

    def read(self) -> dict[str, float]:
        import resource

        usage = resource.getrusage(resource.RUSAGE_SELF)
        figures = {name: self._tree(root) for name, root in self.roots.items()}
        figures["redis"] = sum(self.redis.cpu_times()[:2]) if self.redis else 0.0
        figures["clients"] = usage.ru_utime + usage.ru_stime
        return figures


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
        if self.is_alive():
            self.join(2)
        self.conn.close()


class ServerRun:
    """One server: started, warmed up, measured at each client level, stopped."""

    def __init__(self, name: str, env: dict, pg_params: dict, dbname: str, redis_url: str, log: Path):
        from config import stack

        self.name, self.port, self.figures = name, free_port(), []
        env = dict(env)
        if name == "django":
            argv, self.bound = [sys.executable, "-m", "bench.widget_load", "--serve", str(self.port)], "unbounded"
            env.pop("DATABASE_POOL_SIZE")
        elif name in stack.WEB_SERVERS:
            argv = stack.web_argv(self.port, server=name)
            self.bound = (f"at most {stack.max_web_connections()} ({stack.web_workers()} workers × "
                          f"{stack.web_threads()} threads, a pool each)")
        else:
            raise SystemExit(f"unknown server {name!r}: gunicorn, granian, uvicorn or django")
        self.log_path = log
        self.process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
        self.sampler = ConnectionSampler(pg_params, dbname)
        self.max_connections = self.sampler.conn.execute("SHOW max_connections").fetchone()[0]
        self.meter = CpuMeter(self.process.pid, self.sampler.conn.execute("SELECT pg_backend_pid()").fetchone()[0],
                              _redis_pid(redis_url))

    def measure(self, path: str, texts: list[str], levels: list[int], seconds: float,
                mixes: tuple[str, ...] = ("cold", "realistic"), new_share: float = NEW_SHARE) -> None:
        from helpdesk.suggestion_cache import answer_stats

        _wait_ready(self.port, path, self.process, self.log_path)
        self.sampler.start()
        warm = _warm_up(self.port, path, texts)
        load = os.getloadavg()
        print(f"\n{self.name}: warm-up {warm['requests']} requests; {len(texts)} popular questions; DEBUG off; "
              f"PostgreSQL connections {self.bound}, max_connections {self.max_connections}; {os.cpu_count()} CPU "
              f"cores shared by server and clients; load average before {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}",
              flush=True)
        if "realistic" in mixes:
            print(f"realistic mix: {new_share:.0%} never-asked questions, {1 - new_share:.0%} repeats of the "
                  f"{len(texts)} popular ones (Zipf, 1/rank)", flush=True)
        print(f"{'mix':>9} {'clients':>7} {'requests':>8} {'errors':>6} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} "
              f"{'p99 ms':>7} {'answered':>8} {'hits':>5} {'PG conns':>8} {'load':>5}   "
              f"CPU ms per request: web + PostgreSQL + Redis + clients")
        for mix in mixes:
            for clients in levels:
                self.sampler.reset()
                before, cache_before = self.meter.read(), answer_stats()
                f = drive(self.port, path, texts, clients=clients, seconds=seconds, mix=mix, new_share=new_share)
                after, cache_after = self.meter.read(), answer_stats()
                f["load_average"] = os.getloadavg()[0]
                hits = cache_after["hits"] - cache_before["hits"]
                lookups = hits + cache_after["misses"] - cache_before["misses"]
                f["cache_hit_ratio"] = hits / lookups if lookups else 0.0
                f["max_pg_connections"] = self.sampler.peak()
                f["cpu_ms_per_request"] = {k: 1000 * (after[k] - before[k]) / max(1, f["requests"]) for k in after}
                self.figures.append(f)
                errors = f["requests"] - f["ok"]
                cpu = f["cpu_ms_per_request"]
                print(f"{mix:>9} {f['clients']:>7} {f['requests']:>8} {errors:>6} {f['throughput_rps']:>7.1f} "
                      f"{f['p50_ms']:>7.1f} {f['p95_ms']:>7.1f} {f['p99_ms']:>7.1f} {f['answered_share']:>8.0%} "
                      f"{f['cache_hit_ratio']:>5.0%} {f['max_pg_connections']:>8} {f['load_average']:>5.1f}   "
                      f"{cpu['web']:.1f} + {cpu['postgres']:.1f} + {cpu['redis']:.1f} + {cpu['clients']:.1f} = "
                      f"{sum(cpu.values()):.1f}", flush=True)
                if errors:
                    print(f"        statuses: {f['statuses']}", flush=True)
            last = self.figures[-1]
            total = sum(last["cpu_ms_per_request"].values())
            if total:
                print(f"  {mix}: at {last['clients']} clients a request costs {total:.1f} CPU ms in all, so "
                      f"{os.cpu_count()} idle cores would serve at most ~{1000 * os.cpu_count() / total:.0f} req/s",
                      flush=True)
        load = os.getloadavg()
        print(f"load average after {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}", flush=True)

    def stop(self) -> None:
        self.process.terminate()  # granian, gunicorn and uvicorn stop their workers on SIGTERM
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.sampler.stop()


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
    parser.add_argument("--mix", default="cold,realistic",
                        help="question mixes, comma-separated: cold (never-asked questions), realistic (80%% "
                             "repeats of popular ones, Zipf), repeat (the popular questions cycled)")
    parser.add_argument("--new-share", type=float, default=NEW_SHARE,
                        help="realistic mix: share of never-asked questions (default %(default)s)")
    parser.add_argument("--encoder", help="HELPDESK ENCODER for this run (default: the configured one); several, "
                                          "comma-separated, are measured one after the other and compared")
    parser.add_argument("--server", default="granian",
                        help="how the desk is served: granian (default: what make run and docker use), gunicorn, "
                             "uvicorn or django; several, comma-separated, are measured one after the other")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--keepdb", action="store_true",
                        help="keep the scratch database (and its embedded knowledge base) for the next run")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # This process embeds the knowledge base and runs the clients beside the server: one torch
    # thread, or OpenMP spins against the server for the cores.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("HELPDESK_TORCH_THREADS", "1")
    encoders = [e.strip() for e in (args.encoder or "").split(",") if e.strip()]
    if len(encoders) > 1:
        return compare_encoders(encoders, argv if argv is not None else sys.argv[1:], args.json)
    if encoders:
        os.environ["HELPDESK_ENCODER"] = encoders[0]
    if args.serve:
        serve(args.serve)
        return 0

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from helpdesk.encoders import encoder_name
    from helpdesk.models import Article, WidgetSite
    from helpdesk.services import knowledge
    from helpdesk.services.widget import save_site

    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = "bench_widget"
    original_name = settings.DATABASES["default"]["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=args.keepdb)
    knowledge.enqueue_embedding = lambda chunk_ids: None  # embedded below, in this process
    server = None
    try:
        count = Article.objects.count()
        if not count:
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
        site = WidgetSite.objects.filter(name="bench").first() or save_site(
            name="bench", allowed_origins=ORIGIN, requests_per_minute=10**9, client_requests_per_minute=10**9)

        from config import stack

        env = dict(os.environ, DATABASE_URL=embedded.database_url(connection.settings_dict), REDIS_URL=settings.REDIS_URL,
                   DEBUG="0", HELPDESK_ENCODER=os.environ.get("HELPDESK_ENCODER", settings.HELPDESK["ENCODER"]),
                   PYTHONUNBUFFERED="1", **stack.web_env())
        pg_params = {k: v for k, v in connection.get_connection_params().items() if k in ("host", "port", "user", "password")}
        dbname = connection.settings_dict["NAME"]
        path = f"/desk/widget/v1/{site.key}/suggest/"
        connection.close()  # only the servers' connections are counted from here on
        results = {}
        for name in [n.strip() for n in args.server.split(",") if n.strip()]:
            log = Path(settings.VAR_DIR) / f"bench-widget-{name}.log"
            results[name] = server_run = ServerRun(name, env, pg_params, dbname, settings.REDIS_URL, log)
            server = server_run
            server_run.measure(path, questions(), [int(c) for c in args.clients.split(",") if c.strip()], args.seconds,
                               mixes=tuple(m.strip() for m in args.mix.split(",") if m.strip()),
                               new_share=args.new_share)
            server_run.stop()
            server = None
        if len(results) > 1:
            print("\nside by side (last level):", "; ".join(
                f"{name} ({r.figures[-1]['mix']}) {r.figures[-1]['throughput_rps']:.1f} req/s, "
                f"p99 {r.figures[-1]['p99_ms']:.0f} ms, "
                f"{sum(r.figures[-1]['cpu_ms_per_request'].values()):.1f} CPU ms/request" for name, r in results.items()))
        if args.json:
            args.json.write_text(json.dumps({"encoder": encoder_name(), "servers": {
                name: r.figures for name, r in results.items()}}, indent=2))
    finally:
        if server is not None:
            server.stop()
        connection.close()
        if args.keepdb:
            settings.DATABASES["default"]["NAME"] = original_name
        else:
            connection.creation.destroy_test_db(original_name, verbosity=0)
    return 0


def compare_encoders(encoders: list[str], argv: list[str], json_path: Path | None) -> int:
    """Run the whole bench once per encoder, one after the other (each its own process and scratch
    knowledge base, embedded with that encoder), then print each mix's last level side by side."""
    import tempfile

    rest, skip = [], False
    for arg in argv:  # the same options, but one encoder and a JSON file each
        if skip:
            skip = False
        elif arg in ("--encoder", "--json"):
            skip = True
        elif not arg.startswith(("--encoder=", "--json=")):
            rest.append(arg)
    figures = {}
    with tempfile.TemporaryDirectory() as scratch:
        for encoder in encoders:
            out = Path(scratch) / "figures.json"
            print(f"\n=== {encoder} ===", flush=True)
            code = subprocess.call([sys.executable, "-m", "bench", "widget_load", *rest, "--encoder", encoder,
                                    "--json", str(out)])
            if code:
                return code
            figures[encoder] = json.loads(out.read_text())
    first = encoders[0]
    print(f"\nside by side, last client level of each mix (ratio: each encoder's req/s over {first}'s):")
    for server in figures[first]["servers"]:
        for row in figures[first]["servers"][server]:
            if row is not _last_of_mix(figures[first]["servers"][server], row["mix"]):
                continue
            parts = []
            for encoder in encoders:
                other = _last_of_mix(figures[encoder]["servers"][server], row["mix"])
                parts.append(f"{encoder} {other['throughput_rps']:.1f} req/s (×{other['throughput_rps'] / row['throughput_rps']:.2f}),"
                             f" p99 {other['p99_ms']:.0f} ms, {sum(other['cpu_ms_per_request'].values()):.1f} CPU ms")
            print(f"  {server} {row['mix']} at {row['clients']} clients: " + "; ".join(parts))
    if json_path:
        json_path.write_text(json.dumps(figures, indent=2))
    return 0


def _last_of_mix(rows: list[dict], mix: str) -> dict:
    return [row for row in rows if row["mix"] == mix][-1]


def _redis_pid(url: str) -> int | None:
    import redis

    try:
        return int(redis.Redis.from_url(url).info("server")["process_id"])
    except (redis.RedisError, KeyError, ValueError):
        return None


def _warm_up(port: int, path: str, texts: list[str], timeout: float = 180.0) -> dict:
    """Send every question many times on fresh connections (so they spread over the server's worker
    processes) until no answer is slow: each process has loaded its model, encoded the questions
    and filled its pool, as in a server that has been up for a while."""
    deadline = time.monotonic() + timeout
    while True:
        statuses, latencies = [], []

        def ask(offset: int):
            for text in texts[offset:] + texts[:offset]:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                start = time.perf_counter()
                try:
                    conn.request("GET", f"{path}?{urlencode({'q': text, 'locale': 'en'})}", headers={"Origin": ORIGIN})
                    statuses.append(conn.getresponse().status)
                except (OSError, http.client.HTTPException):
                    statuses.append(0)
                finally:
                    conn.close()
                latencies.append(time.perf_counter() - start)

        threads = [threading.Thread(target=ask, args=(n * 3,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if max(latencies) < 1.0 and set(statuses) == {200} or time.monotonic() > deadline:
            return {"requests": len(statuses), "slowest_ms": 1000 * max(latencies)}


def _wait_ready(port: int, path: str, server: subprocess.Popen, log: Path, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with status {server.returncode}; see {log}")
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
