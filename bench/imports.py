"""Import benchmark: N generated articles (default 5,000) as a ZIP of Markdown files, on this machine.

Prints, for the process doing the worker's job:
  parse    articles/s through the importers alone (sniff, parse, sanitise; no database),
  import   articles/s through the whole import task (parse, clean, detect language, save, chunk),
  embed    chunks/s through the configured encoder (CPU unless a GPU is visible),
  memory   peak resident memory after each phase.

Runs in a scratch database (`bench_imports`) in the embedded PostgreSQL, dropped afterwards.
`python -m bench imports [--articles N] [--encoder NAME]`, or `python -m bench.imports`.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO_KB = ROOT / "helpdesk" / "demo" / "kb.json"


def generate_zip(count: int) -> tuple[bytes, int]:
    """A ZIP of `count` Markdown articles with front matter, cycling through the demo KB's translations.

    Each article gets a unique closing paragraph so no two share passages (nothing is deduplicated).
    """
    items = json.loads(DEMO_KB.read_text())["articles"]
    translations = [(item["key"], locale, t) for item in items for locale, t in sorted(item["translations"].items())]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for n in range(count):
            key, locale, t = translations[n % len(translations)]
            batch = n // len(translations)
            text = (
                f"---\ntitle: \"{t['title']} ({batch})\"\nlocale: {locale}\ntranslation_key: {key}-{batch}\n"
                f"external_id: bench-{key}-{batch}\n---\n{t['body']}\n\nReference {n} / {batch}.\n"
            )
            archive.writestr(f"kb/{locale}/{key}-{batch}.md", text)
    return buffer.getvalue(), len(translations)


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench imports", description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--encoder", help="HELPDESK ENCODER for this run (default: the configured one)")
    parser.add_argument("--embed-chunks", type=int, default=None,
                        help="Embed only the first N chunks (the rate is then measured on that sample)")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.encoder:
        os.environ["HELPDESK_ENCODER"] = args.encoder
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from helpdesk import conf
    from helpdesk.encoders import get_encoder
    from helpdesk.importers import parse_file
    from helpdesk.importers import zip as zip_importer
    from helpdesk.models import Article, Chunk
    from helpdesk.services import imports, knowledge

    data, variety = generate_zip(args.articles)
    print(f"generated {args.articles} Markdown articles ({variety} distinct demo translations, 7 languages), "
          f"ZIP {len(data) / 1e6:.1f} MB", flush=True)

    # 1. Importers alone.
    start = time.perf_counter()
    members = zip_importer.expand(data)
    records = sum(len(parse_file(m.name, m.data)) for m in members)
    parse_s = time.perf_counter() - start
    print(f"parse:  {records} articles in {parse_s:.2f} s = {records / parse_s:,.0f} articles/s "
          f"(unzip, sniff, front matter, Markdown, nh3)", flush=True)

    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = "bench_imports"
    original_name = settings.DATABASES["default"]["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    # Embedding is timed on its own below, so the import does not hand it to Celery here.
    knowledge.enqueue_embedding = lambda chunk_ids: None
    try:
        # 2. The whole import task, in this process.
        job = imports.start_import(files=[("bench.zip", data)], source="bench", queue=False)
        start = time.perf_counter()
        job = imports.run_import(job_id=job.id)
        import_s = time.perf_counter() - start
        articles = Article.objects.count()
        chunks = Chunk.objects.count()
        assert job.articles_created == articles == args.articles, (job.articles_created, job.files_failed)
        print(f"import: {articles} articles, {chunks} chunks in {import_s:.1f} s = {articles / import_s:,.0f} articles/s "
              f"(+ language detection, save, chunking, search vectors); peak memory {peak_mib():.0f} MiB", flush=True)

        # 3. Embedding, in the batches the embedding task uses.
        start = time.perf_counter()
        encoder = get_encoder()
        encoder.encode_documents(["warm-up"])
        load_s = time.perf_counter() - start
        ids = list(Chunk.objects.order_by("id").values_list("id", flat=True))[: args.embed_chunks]
        size = conf.get("EMBED_TASK_CHUNKS")
        start = time.perf_counter()
        written = 0
        for offset in range(0, len(ids), size):
            written += knowledge.embed_chunks(chunk_ids=ids[offset:offset + size], encoder=encoder)
        embed_s = time.perf_counter() - start
        print(f"embed:  {written} chunks in {embed_s:.1f} s = {written / embed_s:,.1f} chunks/s with {encoder.name} "
              f"({encoder.dimensions} dims, batches of {size}, model load {load_s:.1f} s, torch threads "
              f"{_torch_threads()}); peak memory {peak_mib():.0f} MiB", flush=True)
    finally:
        connection.creation.destroy_test_db(original_name, verbosity=0)
    print(f"peak worker memory (RSS of this process, which did the worker's job): {peak_mib():.0f} MiB")
    return 0


def _torch_threads() -> str:
    if "torch" not in sys.modules:
        return "-"
    return str(sys.modules["torch"].get_num_threads())


if __name__ == "__main__":
    sys.exit(main())
