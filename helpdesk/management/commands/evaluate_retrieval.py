"""Evaluate the suggestion engine on a labelled set in BEIR layout, in an isolated schema.

    python manage.py evaluate_retrieval DIR [--mode hybrid|dense|lexical|all|M1,M2] [--json]
        [--conversation last|window|customer] [--max-queries N] [--seed S]

DIR holds `corpus.jsonl` (`_id`, `title`, `text`, optional `language`), `queries.jsonl` (`_id`,
`text`, optional `language`, optional `history`: earlier turns, oldest first, each a string or
{"speaker", "text"}, optional `answerable`: false for a question the corpus does not answer) and
`qrels/test.tsv` (`query-id`, `corpus-id`, `score`).

Out-of-scope questions: a query with `"answerable": false`, with no relevance label (unless
`--unlabelled skip`, for BEIR sets whose queries.jsonl also holds other splits' queries), or whose
labels all name documents absent from the corpus (BANKING77 with intents removed from it). Ranking
metrics are computed over the answerable queries; the no-answer table judges every query at the
configured confidence threshold and over a curve of thresholds (`helpdesk.no_answer`).

The corpus goes into a fresh PostgreSQL schema (a copy of the article and passage tables) that
this command creates and drops; the connection's search_path points there while it runs, so the
live knowledge base is neither read nor written. Passages are made, indexed and embedded by the
product's own code (chunking, `lexical.update_search_vectors`, `services.knowledge.embed_chunks`),
and every query runs through `selectors.suggestions.find_suggestions`, the code behind the API and
the widget.
"""

from __future__ import annotations

import csv
import json
import random
import time
import uuid
from collections import defaultdict
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from embeddings.chunking import chunk_article
from helpdesk import conf, lexical, no_answer, ranking
from helpdesk.encoders import get_encoder
from helpdesk.models import Article, Chunk
from helpdesk.selectors.conversation import STRATEGIES, build_query
from helpdesk.selectors.suggestions import MODES, confidence_threshold, find_suggestions
from helpdesk.services.knowledge import current_chunking, embed_chunks

DEPTH = 100
EMBED_BATCH = 256


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    with path.open(encoding="utf-8") as handle:
        for row in csv.reader(handle, delimiter="\t"):
            if not row or row[0] == "query-id":
                continue
            qrels[row[0]][row[1]] = int(float(row[2]))
    return dict(qrels)


def _turns(history, text: str) -> list[tuple[str, str]]:
    turns = []
    for turn in history or []:
        if isinstance(turn, dict):
            speaker = turn.get("speaker") or turn.get("role") or ""
            turns.append(("customer" if speaker in ("customer", "user", "U") else "agent", turn.get("text", "")))
        else:
            turns.append(("unknown", str(turn)))
    return turns + [("customer", text)]


class EvaluationSpace:
    """A throwaway schema holding copies of the article, passage and active-encoder tables."""

    def __init__(self):
        self.schema = f"helpdesk_eval_{uuid.uuid4().hex[:12]}"

    def __enter__(self):
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE SCHEMA {self.schema}")
            # The active-encoder row too: an evaluation uses the configured encoder, whatever the
            # live install is switching from.
            for table in ("helpdesk_article", "helpdesk_chunk", "helpdesk_activeencoder"):
                cursor.execute(f"CREATE TABLE {self.schema}.{table} (LIKE public.{table} INCLUDING ALL)")
            cursor.execute(f"SET search_path TO {self.schema}, public")
        lexical.forget_stats()
        return self

    def __exit__(self, *exc):
        with connection.cursor() as cursor:
            cursor.execute("SET search_path TO public")
            cursor.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
        lexical.forget_stats()


def load_corpus(corpus: list[dict], *, default_language: str, log=lambda msg: None) -> dict[int, str]:
    """Write the corpus as published articles with passages and vectors; return article id → corpus id."""
    encoder = get_encoder()
    ids: dict[int, str] = {}
    chunk_ids: list[int] = []
    with transaction.atomic():
        for start in range(0, len(corpus), 1000):
            batch = corpus[start : start + 1000]
            articles = Article.objects.bulk_create([
                Article(title=(doc.get("title") or "")[:300], body=doc.get("text") or "",
                        locale=doc.get("language") or default_language, status=Article.Status.PUBLISHED,
                        external_id=str(doc["_id"])[:255], chunked_with=current_chunking())
                for doc in batch
            ])
            chunks = []
            for article in articles:
                ids[article.id] = article.external_id
                for passage in chunk_article(article.title, article.body, max_words=conf.get("CHUNK_WORDS"),
                                             title_passage=conf.get("TITLE_PASSAGE")):
                    chunks.append(Chunk(article=article, ordinal=passage.ordinal, text=passage.text,
                                        passage=passage.body, content_hash=passage.content_hash,
                                        language=article.locale))
            created = Chunk.objects.bulk_create(chunks)
            batch_ids = [c.id for c in created]
            lexical.update_search_vectors(batch_ids)
            chunk_ids += batch_ids
    started = time.monotonic()
    for start in range(0, len(chunk_ids), EMBED_BATCH):
        embed_chunks(chunk_ids=chunk_ids[start : start + EMBED_BATCH], encoder=encoder)
    log(f"embedded {len(chunk_ids)} passages of {len(corpus)} documents with {encoder.name} "
        f"in {time.monotonic() - started:.1f}s")
    lexical.forget_stats()
    return ids


def is_answerable(query: dict, qrels: dict, corpus_ids: set[str]) -> bool:
    """Whether the corpus answers `query`: labelled relevant to a document it holds, not marked otherwise."""
    if query.get("answerable") is False:
        return False
    return any(score > 0 and doc in corpus_ids for doc, score in qrels.get(str(query["_id"]), {}).items())


def evaluate(queries: list[dict], qrels: dict, *, ids: dict[int, str], mode: str, strategy: str,
             corpus_ids: set[str] | None = None, threshold: float | None = None) -> dict:
    """Run every query through the suggestion engine; return ranking metrics over the answerable
    queries (overall and per language) and the no-answer figures over all of them."""
    corpus_ids = set(ids.values()) if corpus_ids is None else corpus_ids
    threshold = confidence_threshold() if threshold is None else threshold
    shown_limit = conf.get("SUGGESTION_LIMIT")
    per_query, judged = [], []
    latencies = []
    for query in queries:
        text = build_query(_turns(query.get("history"), query["text"]), strategy=strategy)
        started = time.perf_counter()
        # As for tickets: the latest turn is searched again lexically (see find_ticket_suggestions).
        result = find_suggestions(text=text, limit=DEPTH, mode=mode, focus=query["text"])
        latencies.append(time.perf_counter() - started)
        ranked = [ids.get(s.article_id) for s in result.suggestions]
        relevant = qrels.get(str(query["_id"]), {})
        language = query.get("language") or result.language or "und"
        answerable = is_answerable(query, qrels, corpus_ids)
        judged.append(no_answer.Judged(
            answerable=answerable, language=language,
            suggestions=tuple((s.confidence, relevant.get(ids.get(s.matched_article_id or s.article_id), 0) > 0)
                              for s in result.suggestions[:shown_limit]),
        ))
        if not answerable:
            continue
        per_query.append({
            "language": language,
            "ndcg@10": ranking.ndcg_at(ranked, relevant, 10),
            "recall@10": ranking.recall_at(ranked, relevant, 10),
            "recall@100": ranking.recall_at(ranked, relevant, 100),
            "mrr@10": ranking.mrr_at(ranked, relevant, 10),
        })
    latencies.sort()
    summary = {"overall": _mean(per_query), "per_language": {}}
    by_language = defaultdict(list)
    for row in per_query:
        by_language[row["language"]].append(row)
    summary["per_language"] = {lang: _mean(rows) for lang, rows in sorted(by_language.items())}
    summary["no_answer"] = no_answer.report(judged, threshold)
    if latencies:
        summary["latency_ms"] = {"p50": round(1000 * latencies[len(latencies) // 2], 1),
                                 "p95": round(1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))], 1)}
    return summary


def _mean(rows: list[dict]) -> dict:
    keys = ("ndcg@10", "recall@10", "recall@100", "mrr@10")
    out = {key: round(sum(r[key] for r in rows) / len(rows), 4) if rows else 0.0 for key in keys}
    out["queries"] = len(rows)
    return out


def select_queries(queries: list[dict], qrels: dict, *, unlabelled: str = "out-of-scope") -> list[dict]:
    """The queries evaluated, in file order: those with text that are labelled, marked unanswerable,
    or (unless `unlabelled` is "skip") unlabelled."""
    return [q for q in queries if (q.get("text") or "").strip()
            and (str(q.get("_id")) in qrels or q.get("answerable") is False or unlabelled != "skip")]


class Command(BaseCommand):
    help = "Evaluate the suggestion engine on a BEIR-layout labelled set (NDCG@10, Recall@10/100, MRR@10)."

    def add_arguments(self, parser):
        parser.add_argument("directory")
        parser.add_argument("--mode", default="hybrid",
                            help="hybrid (default), dense, lexical, all, or a comma-separated list")
        parser.add_argument("--conversation", default="window",
                            help=f"how queries with a history are built: {', '.join(STRATEGIES)} (default: window); "
                                 "a comma-separated list compares several")
        parser.add_argument("--max-queries", type=int, default=0, help="evaluate a random sample of this many")
        parser.add_argument("--seed", type=int, default=13)
        parser.add_argument("--language", default="en", help="language of corpus documents without one")
        parser.add_argument("--unlabelled", choices=("out-of-scope", "skip"), default="out-of-scope",
                            help="queries without a relevance label: judge them as out-of-scope questions "
                                 "(default) or leave them out (BEIR sets whose queries.jsonl spans several splits)")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print one JSON object instead of a table")

    def handle(self, *args, directory, mode, conversation, max_queries, seed, language, as_json: bool,
               unlabelled: str = "out-of-scope", **options):
        root = Path(directory)
        paths = {"corpus": root / "corpus.jsonl", "queries": root / "queries.jsonl", "qrels": root / "qrels" / "test.tsv"}
        missing = [str(p) for p in paths.values() if not p.is_file()]
        if missing:
            raise CommandError(f"not a BEIR-layout directory; missing {', '.join(missing)}")
        strategies = [c.strip() for c in conversation.split(",") if c.strip()]
        if not strategies or any(c not in STRATEGIES for c in strategies):
            raise CommandError(f"unknown conversation strategy in {conversation!r}; choose from {', '.join(STRATEGIES)}")
        modes = list(MODES) if mode == "all" else [m.strip() for m in mode.split(",") if m.strip()]
        unknown = [m for m in modes if m not in MODES]
        if unknown or not modes:
            raise CommandError(f"unknown mode {', '.join(unknown) or mode!r}; choose from {', '.join(MODES)} or all")
        try:
            corpus, queries, qrels = read_jsonl(paths["corpus"]), read_jsonl(paths["queries"]), read_qrels(paths["qrels"])
        except (ValueError, KeyError, UnicodeDecodeError) as exc:
            raise CommandError(f"could not read the labelled set: {exc}") from exc
        queries = select_queries(queries, qrels, unlabelled=unlabelled)
        if max_queries and len(queries) > max_queries:
            queries = random.Random(seed).sample(queries, max_queries)
        corpus_ids = {str(doc["_id"]) for doc in corpus}
        answerable = sum(is_answerable(q, qrels, corpus_ids) for q in queries)
        if not corpus or not answerable:
            raise CommandError("the labelled set has no documents or no answerable judged queries")
        log = (lambda msg: self.stderr.write(msg)) if as_json else (lambda msg: self.stdout.write(msg))
        log(f"{root.name}: {len(corpus)} documents, {answerable} answerable queries, "
            f"{len(queries) - answerable} out of scope, modes {', '.join(modes)}")

        threshold = confidence_threshold()
        report = {"dataset": root.name, "documents": len(corpus), "queries": answerable,
                  "out_of_scope": len(queries) - answerable, "threshold": threshold,
                  "conversation": strategies[0], "encoder": get_encoder().name, "results": {}}
        by_strategy = {}
        with EvaluationSpace():
            ids = load_corpus(corpus, default_language=language, log=log)
            for strategy in strategies:
                by_strategy[strategy] = {m: evaluate(queries, qrels, ids=ids, mode=m, strategy=strategy,
                                                     corpus_ids=corpus_ids, threshold=threshold) for m in modes}
        report["results"] = by_strategy[strategies[0]]
        if len(strategies) > 1:
            report["by_conversation"] = by_strategy
        if as_json:
            self.stdout.write(json.dumps(report, ensure_ascii=False))
        else:
            self.stdout.write(format_table(report))


def format_table(report: dict) -> str:
    lines = [f"{report['dataset']} ({report['documents']} documents, {report['queries']} queries, "
             f"encoder {report['encoder']})",
             f"{'mode':8} {'language':10} {'queries':>7} {'NDCG@10':>8} {'R@10':>7} {'R@100':>7} {'MRR@10':>7}"]
    for strategy, results in report.get("by_conversation", {report["conversation"]: report["results"]}).items():
        if "by_conversation" in report:
            lines.append(f"conversation query: {strategy}")
        for mode, summary in results.items():
            rows = [("all", summary["overall"])] + list(summary["per_language"].items())
            for language, m in rows:
                lines.append(f"{mode:8} {language:10} {m['queries']:>7} {m['ndcg@10']:>8.4f} {m['recall@10']:>7.4f} "
                             f"{m['recall@100']:>7.4f} {m['mrr@10']:>7.4f}")
    # What the widget decides (hybrid, else the first mode): show something, or "no good answer".
    results = report["results"]
    mode = "hybrid" if "hybrid" in results else next(iter(results))
    figures = results[mode]["no_answer"]
    lines.append("")
    lines.append(no_answer.format_report(figures, title=f"No-answer decision ({mode}) at the configured threshold "
                                                        f"{figures['threshold']:.2f}: share of questions"))
    return "\n".join(lines)
