"""Fit the fusion and confidence shipped for the configured encoder, and show how they generalise.

    python -m bench fit [--quick] [--refresh] [--json PATH]

Collects both retrievers' hits for the public sets with out-of-scope questions (StackFAQ, BANKING77
and DSTC11 with out-of-scope questions, XQuAD-R in 11 languages and cross-language with questions
about articles left out of the corpus), cached under var/bench/fit/<encoder>/ (`--refresh`
collects again). Then, leave one dataset out: for each of StackFAQ, BANKING77, DSTC11 and XQuAD-R
(all its languages together, since they are translations of one another), fits on the others and
scores the one left out: NDCG@10 of dense, lexical and hybrid per set, and the no-answer decision
at the shipped threshold per set and per language. Then the fit on every one of those sets: the
model to ship (printed as Python for helpdesk/ranking.py FITTED) beside the model shipped now.
Last, a set never fitted on: Tatoeba sentences in 111 languages against their English translations
(cross-language, with sentences whose translation is not in the corpus as out of scope), scored
with the model fitted on the four datasets, per language.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from bench.beir import OUT
from embeddings.language import base_language
from bench.converters import XQUAD_LANGUAGES

# (set, answerable, out-of-scope questions collected)
SETS = [("stackfaq-oos", 320, 80), ("banking77-oos", 480, 120), ("dstc11-oos", 200, 200)] + \
       [(f"xquad-r-{lang}-oos", 60, 30) for lang in XQUAD_LANGUAGES] + [("xquad-r-cross-oos", 200, 100)] + \
       [("tatoeba-cross-oos", 1000, 1000)]
GROUPS = {**{f"xquad-r-{lang}-oos": "XQuAD-R" for lang in XQUAD_LANGUAGES}, "xquad-r-cross-oos": "XQuAD-R",
          "stackfaq-oos": "StackFAQ", "banking77-oos": "BANKING77", "dstc11-oos": "DSTC11",
          "tatoeba-cross-oos": "Tatoeba"}
# Scored, never fitted on: Tatoeba's sentence pairs are not support questions, but they are questions
# in 111 languages against English (XQuAD-R has 11): the held-out check of "any language".
EVALUATION_ONLY = {"tatoeba-cross-oos"}


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def _pct(value) -> str:
    return "  —  " if value is None else f"{100 * value:5.1f}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench fit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a quarter of the questions (a smoke run)")
    parser.add_argument("--refresh", action="store_true", help="collect the hits again")
    parser.add_argument("--collect-only", action="store_true", help="collect the hits, fit nothing")
    parser.add_argument("--sets", help="collect only these sets (comma-separated), e.g. to collect in two processes")
    parser.add_argument("--reverse", action="store_true", help="collect the sets in reverse order")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    from bench.runs import _ensure_converted
    from helpdesk import conf, fitting, ranking
    from helpdesk.encoders import get_encoder

    encoder = get_encoder().name
    cache = OUT / "fit" / encoder
    cache.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    print(f"encoder {encoder}; load average at start {_load()}", flush=True)
    records = []
    wanted = set(args.sets.split(",")) if args.sets else None
    for name, answerable, outside in (reversed(SETS) if args.reverse else SETS):
        if wanted and name not in wanted:
            continue
        path = cache / f"{name}{'-quick' if args.quick else ''}.jsonl"
        if args.refresh or not path.exists():
            _ensure_converted({name.removesuffix("-oos")})
            t0 = time.monotonic()
            found = fitting.collect(OUT / name, dataset=name, max_answerable=answerable // (4 if args.quick else 1),
                                    max_out_of_scope=outside // (4 if args.quick else 1), log=print)
            path.write_text("".join(json.dumps(r.as_dict(), ensure_ascii=False) + "\n" for r in found))
            print(f"  {name}: {len(found)} questions in {time.monotonic() - t0:.0f}s (load average {_load()})", flush=True)
        found = [fitting.Record.from_dict(json.loads(line)) for line in path.read_text().splitlines()]
        for record in found:
            if not record.locales:  # collected before article locales were recorded: each set has one corpus language
                corpus_language = "en" if not name.startswith("xquad-r-") or name.startswith("xquad-r-cross") \
                    else name.split("-")[2]
                record.locales = {hit[1]: corpus_language for hits in record.hits.values() for hit in hits}
        records += found
    if args.collect_only:
        return 0

    held_out = [r for r in records if r.dataset in EVALUATION_ONLY]
    records = [r for r in records if r.dataset not in EVALUATION_ONLY]
    threshold = conf.DEFAULTS["CONFIDENCE_THRESHOLD"]
    shipped = ranking.shipped_model(encoder)
    t0 = time.monotonic()
    lodo = fitting.leave_one_out(records, threshold=threshold, groups=GROUPS)
    print(f"\nleave one dataset out ({time.monotonic() - t0:.0f}s): fit on the others, NDCG@10 on the set left out")
    print(f"{'set':20} {'dense':>7} {'lexical':>7} {'hybrid':>7} {'shipped':>7}  hybrid ≥ best single")
    shipped_scores = fitting.set_scores(records, shipped)
    rows = []
    for group, result in lodo.items():
        for name, scores in sorted(result["per_set"].items()):
            best = max(scores["dense"], scores["lexical"])
            rows.append((name, scores))
            print(f"{name:20} {scores['dense']:7.4f} {scores['lexical']:7.4f} {scores['hybrid']:7.4f} "
                  f"{shipped_scores[name]['hybrid']:7.4f}  {'yes' if scores['hybrid'] + 1e-9 >= best else 'NO'}")
    print(f"\nno-answer decision at {threshold} on the set left out (answerable: right / only wrong / held back; "
          "out of scope: held back)")
    print(f"{'left out':12} {'answerable':>10} {'right':>6} {'wrong':>6} {'held':>6}   {'oos':>5} {'held':>6}")
    for group, result in lodo.items():
        t = result["no_answer"]["overall"]
        print(f"{group:12} {t['answerable']:>10} {_pct(t['answerable_correct'])} {_pct(t['answerable_wrong'])} "
              f"{_pct(t['answerable_held_back'])}   {t['unanswerable']:>5} {_pct(t['unanswerable_held_back'])}")
        if len(result["no_answer"]["per_language"]) > 1:
            for lang, t in result["no_answer"]["per_language"].items():
                print(f"  {lang:10} {t['answerable']:>10} {_pct(t['answerable_correct'])} {_pct(t['answerable_wrong'])} "
                      f"{_pct(t['answerable_held_back'])}   {t['unanswerable']:>5} {_pct(t['unanswerable_held_back'])}")

    model = fitting.fit(records, base=ranking.RankingModel(source=f"python -m bench fit, {len(records)} questions"),
                        groups=GROUPS)
    print("\nfitted on every set:")
    print(f"  {model!r}")
    for label, candidate in (("fitted", model), ("shipped now", shipped)):
        result = fitting.evaluate(records, candidate, threshold=threshold)
        t = result["no_answer"]["overall"]
        print(f"  {label:12} mean hybrid NDCG@10 {result['ndcg@10']['hybrid']:.4f}; at {threshold}: answerable right "
              f"{_pct(t['answerable_correct'])}% wrong {_pct(t['answerable_wrong'])}% held {_pct(t['answerable_held_back'])}%,"
              f" out of scope held back {_pct(t['unanswerable_held_back'])}%")
    if held_out:
        _print_held_out(held_out, model, threshold, fitted_languages={base_language(r.language) for r in records})
    print(f"\ntotal {time.monotonic() - started:.0f}s, load average {_load()}")
    if args.json:
        args.json.write_text(json.dumps({"encoder": encoder, "leave_one_out": lodo, "fitted": model.as_dict()},
                                        ensure_ascii=False, indent=1, default=str))
    return 0


def _print_held_out(records, model, threshold: float, *, fitted_languages: set[str]) -> None:
    """Sets never fitted on, scored with the model fitted on all the others: NDCG@10 per mode, and
    the no-answer decision overall, for the languages the fit saw questions in and those it never
    did, and per language (few questions each: read the spread, not one language's figure)."""
    from helpdesk import fitting
    from helpdesk.no_answer import report

    print("\nnever fitted on, scored with the model fitted on every set above:")
    for name, scores in sorted(fitting.set_scores(records, model).items()):
        print(f"  {name}: NDCG@10 dense {scores['dense']:.4f}, lexical {scores['lexical']:.4f}, "
              f"hybrid {scores['hybrid']:.4f}")
    questions = fitting.judged(records, model)
    known = {r.language for r in records if base_language(r.language) in fitted_languages}
    print(f"  no-answer decision at {threshold}: {'':13} {'answerable':>10} {'right':>6} {'wrong':>6} {'held':>6}"
          f"   {'oos':>5} {'held':>6}   first right, its mean confidence")
    for label, subset in (("all languages", questions),
                          (f"the {len(known)} the fit saw", [q for q in questions if q.language in known]),
                          (f"the {len({r.language for r in records}) - len(known)} it never saw",
                           [q for q in questions if q.language not in known])):
        if not subset:
            continue
        t = report(subset, threshold)["overall"]
        # Whether a lower share shown comes from retrieval (the first article is wrong more often) or
        # from the confidence (right first articles get lower confidence in these languages).
        firsts = [q.suggestions[0] for q in subset if q.answerable and q.suggestions]
        right = [confidence for confidence, is_right in firsts if is_right]
        print(f"  {label:49} {t['answerable']:>10} {_pct(t['answerable_correct'])} {_pct(t['answerable_wrong'])} "
              f"{_pct(t['answerable_held_back'])}   {t['unanswerable']:>5} {_pct(t['unanswerable_held_back'])}   "
              f"{_pct(len(right) / len(firsts) if firsts else None)}%, {sum(right) / len(right) if right else 0:.3f}")
    per_language = report(questions, threshold)["per_language"]
    print("  per language (right / only wrong / held back %, answerable questions; * never seen by the fit):")
    cells = [f"{lang}{'' if lang in known else '*'} {100 * (t['answerable_correct'] or 0):.0f}/"
             f"{100 * (t['answerable_wrong'] or 0):.0f}/{100 * (t['answerable_held_back'] or 0):.0f}"
             for lang, t in per_language.items() if t["answerable"]]
    for start in range(0, len(cells), 8):
        print("    " + "  ".join(f"{cell:14}" for cell in cells[start:start + 8]))
