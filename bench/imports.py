"""Import benchmark: a large CSV parsed and saved, a large upload through the served desk, and
embedding through the pipeline beside the raw model, printed in one run with the load average.

  1. csv       a ROWS-row CSV (default 20,000; the issue's figure: --rows 100000) imported in this
               process: parse, clean, detect, save articles and passages in batches (no embedding):
               articles/s "parsed and saved".
  2. upload    a ZIP of CSV files of UPLOAD_MB (default 40; --upload-mb 200) POSTed to the desk that
               `make run` serves (config.stack: granian web, Celery worker, beat), imported by the
               worker: peak resident memory of every web and worker process while it streams in and is
               imported, the worker's articles/s, and when the first passage was embedded (during the
               import, or only after it).
  3. embed     PASSAGES passages (default 600) embedded through the pipeline (batches queued as an
               import queues them, Redis, a worker with one pool process, vectors written to
               PostgreSQL) beside the same passages through the model's own batched `encode` in this
               process with as many threads as the worker's: passages/s and the ratio.

Runs in a scratch database (`bench_imports`) in the embedded PostgreSQL, dropped afterwards; the
served desk of phases 2 and 3 has its own Redis under var/bench-imports/.
`python -m bench imports [--rows N] [--upload-mb N] [--passages N] [--skip upload,embed]`.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import resource
import socket
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO_KB = ROOT / "helpdesk" / "demo" / "kb.json"
VAR = ROOT / "var" / "bench-imports"


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (5 min {five:.1f})"


def _sentences() -> list[tuple[str, str, str]]:
    items = json.loads(DEMO_KB.read_text())["articles"]
    return [(locale, t["title"], t["body"]) for item in items for locale, t in sorted(item["translations"].items())]


def write_csv(stream, rows: int, *, prefix: str, start: int = 0) -> None:
    """Rows of demo articles in 7 languages, each with a unique id and closing sentence (~1.9 KB)."""
    translations = _sentences()
    writer = csv.writer(stream)
    writer.writerow(["external_id", "locale", "title", "body", "category"])
    for n in range(start, start + rows):
        locale, title, body = translations[n % len(translations)]
        writer.writerow([f"{prefix}-{n}", locale, f"{title} ({n})", f"{body}\n\nReference {prefix}-{n}.", "bench"])


def generate_zip(count: int) -> tuple[bytes, int]:
    """A ZIP of `count` Markdown articles (kept for `bench encoders` and older callers)."""
    translations = _sentences()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for n in range(count):
            locale, title, body = translations[n % len(translations)]
            archive.writestr(f"kb/{locale}/{n}.md", f"---\ntitle: \"{title} ({n})\"\nlocale: {locale}\n"
                                                    f"external_id: bench-{n}\n---\n{body}\n\nReference {n}.\n")
    return buffer.getvalue(), len(translations)


def write_upload_zip(path: Path, megabytes: int, *, member_bytes: int) -> tuple[int, int]:
    """A stored (uncompressed, like most real uploads of PDFs and images: it is the upload's size
    that counts) ZIP of CSV members of at most `member_bytes`; return the rows and the files in it."""
    target, rows, member = megabytes * 1_000_000, 0, 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        while path.stat().st_size < target - 200_000:
            text = io.StringIO()
            per_member = max(1, min(member_bytes, target - path.stat().st_size) // 1950)
            write_csv(text, per_member, prefix="upload", start=rows)
            data = text.getvalue().encode()
            while len(data) > member_bytes:  # the member limit is in bytes; trim rows until it fits
                per_member = int(per_member * 0.95)
                text = io.StringIO()
                write_csv(text, per_member, prefix="upload", start=rows)
                data = text.getvalue().encode()
            archive.writestr(f"kb/part-{member:03}.csv", data)
            rows += per_member
            member += 1
    return rows, member


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MemorySampler(threading.Thread):
    """Peak RSS of each process in the trees of the given programs, sampled every 0.1 s."""

    def __init__(self, stack, names: list[str]):
        super().__init__(daemon=True)
        self.stack, self.names = stack, names
        self.largest = {n: 0.0 for n in names}  # MiB, one process
        self.total = {n: 0.0 for n in names}  # MiB, all its processes at one moment
        self.stopped = threading.Event()

    def run(self):
        import psutil

        while not self.stopped.wait(0.1):
            for name in self.names:
                pid = self.stack[name].pid
                try:
                    root = psutil.Process(pid)
                    procs = [root, *root.children(recursive=True)]
                except psutil.Error:
                    continue
                sizes = []
                for proc in procs:
                    try:
                        sizes.append(proc.memory_info().rss / 2**20)
                    except psutil.Error:
                        pass
                if sizes:
                    self.largest[name] = max(self.largest[name], max(sizes))
                    self.total[name] = max(self.total[name], sum(sizes))

    def baseline(self) -> dict[str, tuple[float, float]]:
        return {n: (self.largest[n], self.total[n]) for n in self.names}

    def reset(self) -> None:
        for name in self.names:
            self.largest[name] = self.total[name] = 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench imports", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="CSV rows for phase 1 (issue: 100000)")
    parser.add_argument("--upload-mb", type=int, default=40, help="size of the upload of phase 2 (issue: 200)")
    parser.add_argument("--passages", type=int, default=600, help="passages embedded in phase 3")
    parser.add_argument("--skip", default="", help="comma-separated phases to skip: csv, upload, embed")
    parser.add_argument("--encoder", help="HELPDESK_ENCODER for this run (default: the configured one)")
    args = parser.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.encoder:
        os.environ["HELPDESK_ENCODER"] = args.encoder
    # The raw model gets the threads one worker pool process has (config.stack.worker_env).
    worker_threads = os.environ.get("WORKER_TORCH_THREADS") or "1"
    os.environ["HELPDESK_TORCH_THREADS"] = worker_threads
    os.environ["OMP_NUM_THREADS"] = worker_threads
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    print(f"bench imports: {os.cpu_count()} cores, {load()}", flush=True)
    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = "bench_imports"
    original_name = settings.DATABASES["default"]["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    VAR.mkdir(parents=True, exist_ok=True)
    try:
        if "csv" not in skip:
            phase_csv(args.rows)
        if "upload" not in skip:
            phase_upload(args.upload_mb)
        if "embed" not in skip:
            phase_embed(args.passages, worker_threads)
    finally:
        connection.close()
        connection.creation.destroy_test_db(original_name, verbosity=0)
    return 0


def phase_csv(rows: int) -> None:
    from django.conf import settings

    from helpdesk.models import Article, Chunk
    from helpdesk.services import imports, knowledge

    with tempfile.NamedTemporaryFile("w", suffix=".csv", newline="", encoding="utf-8", delete=False) as out:
        write_csv(out, rows, prefix="csv")
        path = Path(out.name)
    size = path.stat().st_size
    print(f"\n1. csv: {rows:,} rows, {size / 1e6:.1f} MB, 7 languages, one file", flush=True)
    # One file of this size is over the upload page's per-file limit; `import_kb` and this bench take it.
    settings.HELPDESK = {**settings.HELPDESK, "IMPORT_MAX_FILE_BYTES": 2**31, "IMPORT_MAX_UPLOAD_BYTES": 2**31}
    knowledge._broker_down_until = float("inf")  # embedding is phase 3's: nothing is queued here
    try:
        job = imports.start_import(files=[("bench.csv", path)], source="bench", queue=False)
        start = time.perf_counter()
        job = imports.run_import(job_id=job.id)
        seconds = time.perf_counter() - start
    finally:
        knowledge._broker_down_until = 0.0
        settings.HELPDESK = {k: v for k, v in settings.HELPDESK.items() if not k.startswith("IMPORT_MAX")}
        path.unlink()
    articles, chunks = Article.objects.count(), Chunk.objects.count()
    assert job.articles_created == articles == rows, (job.articles_created, articles, job.files_failed)
    print(f"   parsed and saved: {articles:,} articles ({chunks:,} passages) in {seconds:.1f} s = "
          f"{articles / seconds:,.0f} articles/s (target >= 200); peak memory of this process "
          f"{peak_mib():.0f} MiB; {load()}", flush=True)


def _login(base: str):
    import requests

    from django.contrib.auth.models import User

    from helpdesk.roles import ensure_roles

    _, admins = ensure_roles()
    password = f"bench-{random.random()}"
    user, _ = User.objects.get_or_create(username="bench-admin")
    user.set_password(password)
    user.save()
    user.groups.add(admins)
    session = requests.Session()
    session.get(f"{base}/accounts/login/", timeout=60)
    response = session.post(f"{base}/accounts/login/", timeout=60, allow_redirects=False,
                            data={"username": "bench-admin", "password": password,
                                  "csrfmiddlewaretoken": session.cookies["csrftoken"]})
    assert response.status_code == 302, response.status_code
    session.get(f"{base}/desk/kb/import/", timeout=60)
    return session


def _wait_healthy(base: str, stack, timeout: float = 300) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the web server did not answer; see {stack.log_dir}/web.log")


def _stack_env() -> dict[str, str]:
    from django.conf import settings
    from django.db import connection

    import redis

    from config import embedded

    # Nothing left over from an earlier phase or run (queued, or taken by a worker that was stopped)
    # reaches this phase's worker: the broker is this bench's own.
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    # The served desk uses this process's database and broker: what is queued here reaches its worker.
    return {"DATABASE_URL": embedded.database_url(connection.settings_dict), "REDIS_URL": settings.REDIS_URL,
            "HTTPS": "0",
            "HELPDESK_ENCODER": os.environ.get("HELPDESK_ENCODER") or "", "HF_HUB_OFFLINE": "1"}


def phase_upload(megabytes: int) -> None:
    from django.conf import settings

    from config.stack import start_stack
    from helpdesk import conf
    from helpdesk.models import Chunk, ImportJob

    from helpdesk.models import Article

    # Phase 1's articles were never embedded: the sweep would queue their passages ahead of the
    # upload's, and the embedder would spend the whole import on them.
    Article.objects.all().delete()
    path = VAR / f"upload-{megabytes}mb.zip"
    rows, members = write_upload_zip(path, megabytes, member_bytes=conf.get("IMPORT_MAX_FILE_BYTES") - 100_000)
    size = path.stat().st_size
    print(f"\n2. upload: a {size / 1e6:.0f} MB ZIP ({rows:,} CSV rows in {members} files) POSTed to the "
          f"served desk (granian web, Celery worker and embedder, beat)", flush=True)
    env = {k: v for k, v in _stack_env().items() if v}
    port = free_port()
    stack = start_stack(VAR / "stack", web_port=port, env=env)
    sampler = MemorySampler(stack, ["web", "worker", "embedder"])
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(base, stack)
        session = _login(base)
        sampler.start()
        time.sleep(3)
        before = sampler.baseline()
        sampler.reset()
        start = time.perf_counter()
        with open(path, "rb") as upload:
            response = session.post(f"{base}/desk/kb/import/", timeout=1800, allow_redirects=False,
                                    files={"files": (path.name, upload, "application/zip")},
                                    data={"publish": "on", "csrfmiddlewaretoken": session.cookies["csrftoken"]})
        upload_s = time.perf_counter() - start
        assert response.status_code == 302, (response.status_code, response.text[-2000:])
        job_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
        web_peak = (sampler.largest["web"], sampler.total["web"])
        print(f"   uploaded in {upload_s:.1f} s; at rest (largest process / all): web {before['web'][0]:.0f} / "
              f"{before['web'][1]:.0f} MiB, worker {before['worker'][0]:.0f} / {before['worker'][1]:.0f} MiB, embedder "
              f"{before['embedder'][0]:.0f} / {before['embedder'][1]:.0f} MiB", flush=True)
        first_embedded = None
        while True:
            job = ImportJob.objects.get(id=job_id)
            if first_embedded is None and Chunk.objects.filter(article__imports=job).exclude(encoder="").exists():
                first_embedded = time.perf_counter() - start
            if job.is_finished:
                break
            time.sleep(0.5)
        total_s = time.perf_counter() - start
        import_s = (job.finished_at - job.started_at).total_seconds()
        print(f"   imported by the worker: {job.articles_created:,} articles, {job.files_failed} files failed, in "
              f"{import_s:.0f} s = {job.articles_created / import_s:,.0f} articles/s with embedding running beside it; "
              f"upload to done {total_s:.0f} s", flush=True)
        # Vectors are written when a task's whole batch is encoded: on a busy CPU the first 64 take a minute.
        print(f"   first vectors written {first_embedded:.0f} s after the upload started; the import ended at "
              f"{total_s:.0f} s" if first_embedded
              else "   no vectors written before the import finished", flush=True)
        print(f"   PEAK MEMORY web: {web_peak[0]:.0f} MiB largest process during the upload "
              f"({max(web_peak[0], sampler.largest['web']):.0f} MiB until the import ended; "
              f"{sampler.total['web']:.0f} MiB all web processes together); worker: {sampler.largest['worker']:.0f} MiB "
              f"largest process ({sampler.total['worker']:.0f} MiB main + pool together); embedder "
              f"{sampler.largest['embedder']:.0f} MiB largest ({sampler.total['embedder']:.0f} MiB together); "
              f"target < 500 MiB each; "
              f"{load()}", flush=True)
        del settings
    finally:
        sampler.stopped.set()
        stack.stop()
        path.unlink(missing_ok=True)


def phase_embed(passages: int, worker_threads: str) -> None:
    from config.stack import start_stack
    from helpdesk.encoders import encoder_name, get_encoder
    from helpdesk.models import Chunk
    from helpdesk.services import knowledge

    ids = list(Chunk.objects.order_by("id").values_list("id", flat=True)[:passages])
    # Only the sample is left to embed (the rest removed): the periodic sweep must not queue
    # thousands of other passages between the timed ones.
    Chunk.objects.exclude(id__in=ids).delete()
    Chunk.objects.update(embedding=None, encoder="", embedded_at=None)
    if len(ids) < passages:
        print(f"\n3. embed: only {len(ids)} passages exist (run phase 1 or 2 first)", flush=True)
        if not ids:
            return
    texts = list(Chunk.objects.filter(id__in=ids).order_by("id").values_list("text", flat=True))
    print(f"\n3. embed: {len(ids):,} passages ({sum(map(len, texts)) / len(texts):.0f} characters on average)", flush=True)

    previous = os.environ.get("EMBEDDER_CONCURRENCY")
    os.environ["EMBEDDER_CONCURRENCY"] = "1"  # one pool process, as many threads as the raw model gets
    env = {k: v for k, v in _stack_env().items() if v}
    stack = start_stack(VAR / "embed-stack", web_port=free_port(), env=env)
    try:
        # The model loads in the pool process; one passage waits for it, so it is not timed.
        knowledge.queue_batches(ids[:1])
        _wait_embedded(ids[:1], encoder_name(), stack, timeout=600)
        start = time.perf_counter()
        knowledge.queue_batches(ids[1:])
        _wait_embedded(ids, encoder_name(), stack, timeout=3600)
        pipeline_s = time.perf_counter() - start
        pipeline_load = load()
    finally:
        stack.stop()
        if previous is None:
            os.environ.pop("EMBEDDER_CONCURRENCY", None)
        else:
            os.environ["EMBEDDER_CONCURRENCY"] = previous
    pipeline_rate = (len(ids) - 1) / pipeline_s

    encoder = get_encoder()
    encoder.encode_documents(texts[:1])
    start = time.perf_counter()
    encoder.encode_documents(texts[1:])
    raw_s = time.perf_counter() - start
    raw_rate = (len(texts) - 1) / raw_s
    print(f"   pipeline (tasks of up to 64 passages across articles, Redis, worker, PostgreSQL): "
          f"{pipeline_rate:,.1f} passages/s; {pipeline_load}", flush=True)
    print(f"   raw model, batched encode in this process ({worker_threads} thread(s), {encoder.name}): "
          f"{raw_rate:,.1f} passages/s; {load()}", flush=True)
    print(f"   RATIO pipeline / raw = {pipeline_rate / raw_rate:.2f} (target >= 0.9)", flush=True)


def _wait_embedded(ids: list[int], name: str, stack, *, timeout: float) -> None:
    from helpdesk.models import Chunk

    deadline = time.monotonic() + timeout
    while Chunk.objects.filter(id__in=ids, encoder=name).count() < len(ids):
        if time.monotonic() > deadline:
            raise RuntimeError(f"passages not embedded in {timeout:.0f} s; see {stack.log_dir}/embedder.log")
        time.sleep(0.1)


if __name__ == "__main__":
    sys.exit(main())
