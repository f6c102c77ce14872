"""The "no good answer" decision on public sets with out-of-scope questions, at the shipped threshold.

    python -m bench no_answer [SET ...] [--quick] [--json PATH]

Sets (converted from ../shared/data by `python -m bench convert`):
  banking77-oos  BANKING77 with a fifth of the intents left out of the corpus; their questions are out of scope
  stackfaq-oos   StackFAQ with a fifth of the threads left out; their rephrasings are out of scope
  dstc11-oos     DSTC11 track 5: FAQ questions plus as many turns only guests' reviews answer (real
                 out-of-scope questions in the same conversations)

Each set runs through `manage.py evaluate_retrieval` (hybrid, the widget's mode), which judges every
question at the configured threshold (the shipped default here: the bench database has no admin
setting) and over a curve of thresholds. Prints the table per set and over all sets, with the load
average.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import time
from pathlib import Path

SETS = {"banking77-oos": 600, "stackfaq-oos": 400, "dstc11-oos": 400}
SEED = 13


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench no_answer", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", nargs="*", help=f"only these sets (default: all of {', '.join(SETS)})")
    parser.add_argument("--quick", action="store_true", help="a quarter of the questions (a smoke run)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    from django.core.management import call_command

    from bench.runs import _ensure_converted
    from bench.beir import OUT
    from helpdesk import conf, no_answer

    names = args.datasets or list(SETS)
    unknown = [name for name in names if name not in SETS]
    if unknown:
        parser.error(f"unknown set {', '.join(unknown)}; choose from {', '.join(SETS)}")
    _ensure_converted(set(names))
    print(f"load average at start {_load()}; shipped threshold {conf.DEFAULTS['CONFIDENCE_THRESHOLD']}", flush=True)
    reports, started = {}, time.monotonic()
    for name in names:
        n = max(40, SETS[name] // 4) if args.quick else SETS[name]
        out, t0 = io.StringIO(), time.monotonic()
        call_command("evaluate_retrieval", str(OUT / name), "--mode", "hybrid", "--json", "--max-queries", str(n),
                     "--seed", str(SEED), stdout=out, stderr=io.StringIO())
        report = json.loads(out.getvalue())
        reports[name] = report
        figures = report["results"]["hybrid"]["no_answer"]
        print(f"\n{name}: {report['documents']} documents, {report['queries']} answerable and "
              f"{report['out_of_scope']} out-of-scope questions, hybrid NDCG@10 "
              f"{report['results']['hybrid']['overall']['ndcg@10']:.4f} ({time.monotonic() - t0:.0f}s, "
              f"load average {_load()})")
        print(no_answer.format_report(_at(figures, report["threshold"]),
                                      title=f"at threshold {report['threshold']:.2f} (encoder {report['encoder']})"))

    if len(reports) > 1:
        print("\nall sets together (each question counts once)")
        print(_pooled(reports))
    print(f"\ntotal {time.monotonic() - started:.0f}s, load average {_load()}")
    if args.json:
        args.json.write_text(json.dumps(reports, ensure_ascii=False, indent=1))
    return 0


def _at(figures: dict, threshold: float) -> dict:
    """The figures with the curve kept to a few thresholds around the one shipped."""
    keep = {round(t, 2) for t in (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, round(threshold, 2))}
    return figures | {"curve": [p for p in figures["curve"] if round(p["threshold"], 2) in keep]}


def _pooled(reports: dict) -> str:
    """Pool the sets' counts at each threshold of the curve: shares over all questions."""
    from helpdesk import no_answer

    rows = []
    curves = [r["results"]["hybrid"]["no_answer"]["curve"] for r in reports.values()]
    threshold = next(iter(reports.values()))["threshold"]
    for points in zip(*curves):
        counts = {key: sum(p["counts"][key] for p in points) for key in points[0]["counts"]}
        answerable = counts["correct"] + counts["wrong"] + counts["answerable_held_back"]
        unanswerable = counts["unanswerable_shown"] + counts["unanswerable_held_back"]
        rows.append({"threshold": points[0]["threshold"], "answerable": answerable, "unanswerable": unanswerable,
                     "answerable_correct": counts["correct"] / answerable if answerable else None,
                     "answerable_wrong": counts["wrong"] / answerable if answerable else None,
                     "answerable_held_back": counts["answerable_held_back"] / answerable if answerable else None,
                     "unanswerable_held_back": counts["unanswerable_held_back"] / unanswerable if unanswerable else None,
                     "counts": counts})
    at = next((p for p in rows if abs(p["threshold"] - threshold) < 1e-9), rows[0])
    return no_answer.format_report(_at({"threshold": threshold, "overall": at, "per_language": {}, "curve": rows},
                                       threshold), title=f"at threshold {threshold:.2f}")
