"""Write and read labelled sets in BEIR layout (corpus.jsonl, queries.jsonl, qrels/test.tsv)."""

from __future__ import annotations

import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("POLYGLOT_DATA", ROOT.parent / "shared" / "data"))
# Converted sets are derived data: written under var/ (git-ignored), never into the repository.
OUT = Path(os.environ.get("POLYGLOT_BENCH_OUT", ROOT / "var" / "bench"))


def write_beir(directory: Path, corpus: list[dict], queries: list[dict], qrels: list[tuple[str, str, int]]) -> Path:
    """Write a BEIR-layout set; return its directory."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "qrels").mkdir(exist_ok=True)
    with (directory / "corpus.jsonl").open("w", encoding="utf-8") as handle:
        for doc in corpus:
            handle.write(json.dumps(doc, ensure_ascii=False) + "\n")
    with (directory / "queries.jsonl").open("w", encoding="utf-8") as handle:
        for query in queries:
            handle.write(json.dumps(query, ensure_ascii=False) + "\n")
    with (directory / "qrels" / "test.tsv").open("w", encoding="utf-8") as handle:
        handle.write("query-id\tcorpus-id\tscore\n")
        for qid, did, score in qrels:
            handle.write(f"{qid}\t{did}\t{score}\n")
    return directory


def read_beir(directory: Path) -> tuple[list[dict], list[dict], dict[str, dict[str, int]]]:
    from helpdesk.management.commands.evaluate_retrieval import read_jsonl, read_qrels

    return (read_jsonl(directory / "corpus.jsonl"), read_jsonl(directory / "queries.jsonl"),
            read_qrels(directory / "qrels" / "test.tsv"))
