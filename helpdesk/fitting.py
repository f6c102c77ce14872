"""Fit the fusion weights and the confidence of the suggestion engine from labelled data.

Three steps, each usable alone:

1. `collect`: run every question of a labelled set (BEIR layout, answerable and out-of-scope
   questions) through both retrievers once, in a throwaway schema, and keep each retriever's article
   hits (`Record`). Everything after this is arithmetic on the stored hits with the very functions
   the engine ranks with (`selectors.suggestions.rank`), so a fitted model scores here exactly as it
   will in production.
2. `fit_fusion`: the dense share of the convex fusion (`RankingModel.dense_tied/per_lead/cap`,
   and `off_language` for an encoder that does not know a question's language), chosen on a grid by
   mean NDCG@10 over the sets, each set counting once, with a penalty wherever hybrid falls below
   the better single retriever of that set.
3. `fit_confidence`: logistic regression of "the first article shown answers the question" on the
   first article's features (`ranking.FEATURES`), out-of-scope questions counting as wrong answers,
   each set weighing the same in total. Agents' ratings (Suggestion rows with evidence) can join.

`leave_one_out` fits on all sets but one and scores the one left out, for every set: the figures
that say how a fit generalises to data it has not seen.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from helpdesk import ranking
from helpdesk.no_answer import Judged, report as no_answer_report

# The grid the dense share is chosen from. Cosine levels differ by encoder (MiniLM's related texts
# sit at 0.3–0.8, multilingual-e5's at 0.8–0.95), so the grid reaches shares close to 1: there a
# lexical value in 0..1 weighs as much as a few hundredths of e5's cosine.
DENSE_TIED = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99)
DENSE_PER_LEAD = (0.0, 1.0, 2.0, 5.0, 10.0)
DENSE_CAP = (0.9, 0.95, 0.98, 0.99, 1.0)
# Per standard deviation of the runners-up's cosines the first article leads by (typically 0–10).
DENSE_PER_STANDOUT = (0.0, 0.01, 0.02, 0.05, 0.1)
OFF_LANGUAGE = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5)
# Hybrid below the better single retriever of a set costs this many times the shortfall.
BELOW_BEST_PENALTY = 3.0
RIDGE_C = 1.0


@dataclass
class Record:
    """One question of a labelled set, with both retrievers' article hits."""

    dataset: str
    language: str
    answerable: bool
    relevant: dict[int, float]  # article id → relevance grade (> 0)
    knows_language: bool
    hits: dict[str, list[tuple]]  # retriever → article hits, best first (as `selectors.suggestions.retrieve`)
    locales: dict[int, str] = field(default_factory=dict)  # article id → locale, for the articles hit

    def as_dict(self) -> dict:
        return {"dataset": self.dataset, "language": self.language, "answerable": self.answerable,
                "relevant": {str(k): v for k, v in self.relevant.items()}, "knows_language": self.knows_language,
                "hits": {name: [list(hit) for hit in hits] for name, hits in self.hits.items()},
                "locales": {str(k): v for k, v in self.locales.items()}}

    @classmethod
    def from_dict(cls, value: dict) -> Record:
        return cls(dataset=value["dataset"], language=value["language"], answerable=value["answerable"],
                   relevant={int(k): float(v) for k, v in value["relevant"].items()},
                   knows_language=value["knows_language"],
                   hits={name: [tuple(hit) for hit in hits] for name, hits in value["hits"].items()},
                   locales={int(k): v for k, v in value.get("locales", {}).items()})


# --- 1. collecting ---------------------------------------------------------------------------------

def collect(directory, *, dataset: str | None = None, max_answerable: int = 400, max_out_of_scope: int = 200,
            seed: int = 13, default_language: str = "en", keep: int = 100,
            log: Callable[[str], None] = lambda msg: None) -> list[Record]:
    """Run a BEIR-layout set's questions through both retrievers (in a throwaway schema) and keep
    the hits. Unlabelled questions, or those marked `"answerable": false`, are out of scope."""
    from pathlib import Path

    from embeddings.language import detect_language
    from helpdesk import conf
    from helpdesk.management.commands.evaluate_retrieval import (
        EvaluationSpace, _turns, is_answerable, load_corpus, read_jsonl, read_qrels, select_queries,
    )
    from helpdesk.selectors.conversation import build_query
    from helpdesk.selectors.suggestions import clean_query, knows_language, retrieve

    root = Path(directory)
    dataset = dataset or root.name
    corpus = read_jsonl(root / "corpus.jsonl")
    queries = select_queries(read_jsonl(root / "queries.jsonl"), qrels := read_qrels(root / "qrels" / "test.tsv"))
    corpus_ids = {str(doc["_id"]) for doc in corpus}
    answerable = [q for q in queries if is_answerable(q, qrels, corpus_ids)]
    outside = [q for q in queries if not is_answerable(q, qrels, corpus_ids)]
    rng = random.Random(seed)
    answerable = rng.sample(answerable, min(max_answerable, len(answerable)))
    outside = rng.sample(outside, min(max_out_of_scope, len(outside)))
    records = []
    with EvaluationSpace():
        ids = load_corpus(corpus, default_language=default_language, log=log)
        by_corpus_id = {doc: aid for aid, doc in ids.items()}
        for query in answerable + outside:
            text = clean_query(build_query(_turns(query.get("history"), query["text"])))
            if not text:
                continue
            detection = detect_language(text, fallback=conf.get("DEFAULT_LOCALE"))
            detected = detection.language or conf.get("DEFAULT_LOCALE")
            hits, serving, articles = retrieve(text, mode="hybrid", language=detected, focus=query["text"])
            relevant = {by_corpus_id[doc]: float(grade) for doc, grade in qrels.get(str(query["_id"]), {}).items()
                        if grade > 0 and doc in by_corpus_id}
            records.append(Record(
                dataset=dataset, language=query.get("language") or detected, answerable=bool(relevant),
                relevant=relevant, knows_language=knows_language(serving.spec if serving else None,
                                                                 detection.guess or detected),
                hits={name: [tuple(round(v, 6) if isinstance(v, float) else v for v in hit) for hit in found[:keep]]
                      for name, found in hits.items()},
                locales={aid: article.locale for aid, article in articles.items()},
            ))
    log(f"{dataset}: {sum(r.answerable for r in records)} answerable, "
        f"{sum(not r.answerable for r in records)} out-of-scope questions collected")
    return records


# --- 2. scoring a model on stored hits -------------------------------------------------------------

def ranked(record: Record, model: ranking.RankingModel, *, mode: str = "hybrid") -> list[ranking.Candidate]:
    from helpdesk.selectors.suggestions import rank

    hits = record.hits if mode == "hybrid" else {mode: record.hits.get(mode, [])}
    return rank(hits, model=model, knows_language=record.knows_language, language=record.language,
                locales=record.locales)


def ndcg(record: Record, candidates: list[ranking.Candidate]) -> float:
    return ranking.ndcg_at([c.article_id for c in candidates], record.relevant, 10)


def set_scores(records: list[Record], model: ranking.RankingModel) -> dict[str, dict[str, float]]:
    """NDCG@10 per set and mode (answerable questions only)."""
    out: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        if not record.answerable:
            continue
        for mode in ("dense", "lexical", "hybrid"):
            out[record.dataset][mode].append(ndcg(record, ranked(record, model, mode=mode)))
    return {name: {mode: sum(v) / len(v) for mode, v in modes.items()} for name, modes in out.items()}


def judged(records: Iterable[Record], model: ranking.RankingModel, *, shown: int = 5) -> list[Judged]:
    """Each question as the no-answer report judges it: its first `shown` suggestions (confidence, right?)."""
    out = []
    for record in records:
        candidates = ranked(record, model)[:shown]
        out.append(Judged(answerable=record.answerable, language=record.language,
                          suggestions=tuple((c.confidence, c.article_id in record.relevant) for c in candidates)))
    return out


# --- 3. fitting ------------------------------------------------------------------------------------

def _fusion_grid() -> list[dict]:
    grid = []
    for tied, per_lead, per_sd, cap in itertools.product(DENSE_TIED, DENSE_PER_LEAD, DENSE_PER_STANDOUT, DENSE_CAP):
        if cap < tied or (per_lead == 0 and per_sd == 0 and cap != DENSE_CAP[-1]):
            continue  # a cap below the tie share, or a cap that never applies, repeats another point
        grid.append({"dense_tied": tied, "dense_per_lead": per_lead, "dense_per_standout": per_sd, "dense_cap": cap})
    return grid


def _objective(per_set: dict[str, float], best_single: dict[str, float], groups: dict[str, str] | None = None) -> float:
    """Mean NDCG@10 less BELOW_BEST_PENALTY × the shortfall below the set's better retriever, per set;
    averaged within each dataset group (`groups`: set → dataset, e.g. XQuAD-R's 12 language sets are
    one dataset), then over the groups, so a dataset split into many sets does not outvote the rest."""
    if not per_set:
        return 0.0
    groups = groups or {}
    by_group: dict[str, list[float]] = defaultdict(list)
    for name, value in per_set.items():
        by_group[groups.get(name, name)].append(value - BELOW_BEST_PENALTY * max(0.0, best_single[name] - value))
    return sum(sum(v) / len(v) for v in by_group.values()) / len(by_group)


class _Fusable:
    """A question's hits as arrays, so the grid scores a fusion without building candidates: the
    same arithmetic as `ranking.fuse` (convex: w × cosine + (1 − w) × BM25 / best BM25 × the best
    hit's coverage; ties by the retrievers' reciprocal ranks, then article id). `test_fitting`
    checks it agrees with `rank`."""

    def __init__(self, record: Record):
        import numpy as np

        dense, lexical = record.hits.get("dense", []), record.hits.get("lexical", [])
        order: dict[int, int] = {}
        for hit in dense + lexical:
            order.setdefault(hit[1], len(order))
        n = len(order)
        self.dense, self.lexical, self.rrf = np.zeros(n), np.zeros(n), np.zeros(n)
        self.ids = np.array(list(order), dtype=np.int64)
        for rank, hit in enumerate(dense, start=1):
            self.dense[order[hit[1]]] = hit[2]
            self.rrf[order[hit[1]]] += 1.0 / (ranking.RRF_K + rank)
        if lexical:
            top = lexical[0]
            coverage = top[3] if len(top) > 3 else 1.0
            for rank, hit in enumerate(lexical, start=1):
                self.lexical[order[hit[1]]] = (hit[2] / top[2] if top[2] else 0.0) * coverage
                self.rrf[order[hit[1]]] += 1.0 / (ranking.RRF_K + rank)
        self.gains = np.array([2.0 ** record.relevant.get(int(a), 0.0) - 1.0 for a in self.ids])
        ideal = sorted((2.0 ** g - 1.0 for g in record.relevant.values() if g > 0), reverse=True)[:10]
        self.ideal = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
        self.discounts = 1.0 / np.log2(np.arange(2, 12))
        self.has_dense, self.leads = bool(dense), ranking.leads(dense)
        self.knows_language = record.knows_language

    def ndcg(self, model: ranking.RankingModel) -> float:
        import numpy as np

        if not self.ideal or not len(self.ids):
            return 0.0
        if self.has_dense and self.lexical.any():
            w = model.share_for(self.leads, knows_language=self.knows_language)
            fused = w * self.dense + (1.0 - w) * self.lexical
        else:
            fused = self.dense + self.lexical
        top = np.lexsort((self.ids, -self.rrf, -fused))[:10]
        return float((self.gains[top] * self.discounts[: len(top)]).sum() / self.ideal)


def fit_fusion(records: list[Record], *, base: ranking.RankingModel | None = None,
               groups: dict[str, str] | None = None, log: Callable[[str], None] = lambda msg: None) -> ranking.RankingModel:
    """The grid point with the best objective over the answerable questions of `records`."""
    base = base or ranking.RankingModel()
    answerable = [r for r in records if r.answerable]
    single = set_scores(answerable, base)
    best_single = {name: max(s["dense"], s["lexical"]) for name, s in single.items()}
    fusable = [(r.dataset, r.knows_language, _Fusable(r)) for r in answerable]

    def by_set(model, knows):
        values: dict[str, list[float]] = defaultdict(list)
        for dataset, known, arrays in fusable:
            if known == knows:
                values[dataset].append(arrays.ndcg(model))
        return {name: sum(v) / len(v) for name, v in values.items()}

    best, best_value = base, -math.inf
    for point in _fusion_grid():
        model = replace(base, **point)
        value = _objective(by_set(model, True), best_single, groups)
        if value > best_value + 1e-9:
            best, best_value = model, value
    if any(not known for _, known, _ in fusable):  # an encoder that does not know some questions' language
        best_off, best_value = best, -math.inf
        for share in OFF_LANGUAGE:
            model = replace(best, off_language=share)
            value = _objective(by_set(model, False), best_single, groups)
            if value > best_value + 1e-9:
                best_off, best_value = model, value
        best = best_off
    log(f"fusion: dense share {best.dense_tied} tied, +{best.dense_per_lead} per unit of lead, "
        f"+{best.dense_per_standout} per standard deviation of lead, cap {best.dense_cap}"
        + (f", {best.off_language} off-language" if best.off_language is not None else ""))
    return best


@dataclass
class Examples:
    """Confidence training rows: features of the first article shown, right or not, and a weight."""

    x: list[tuple[float, ...]] = field(default_factory=list)
    y: list[int] = field(default_factory=list)
    w: list[float] = field(default_factory=list)


def examples(records: list[Record], model: ranking.RankingModel) -> Examples:
    """One row per question (its first article), each set weighing the same in total."""
    by_set: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        by_set[record.dataset].append(record)
    out = Examples()
    for rows in by_set.values():
        for record in rows:
            candidates = ranked(record, model)
            if not candidates:
                continue
            top = candidates[0]
            out.x.append(tuple(top.evidence[name] for name in ranking.FEATURES))
            out.y.append(int(top.article_id in record.relevant))
            out.w.append(1.0 / len(rows))
    return out


def feedback_examples(rows: Iterable[tuple[dict, bool]], *, weight: float) -> Examples:
    """Agents' ratings as training rows: (Suggestion.evidence, marked helpful) for first-shown articles."""
    out = Examples()
    rows = [(evidence, helpful) for evidence, helpful in rows if all(k in evidence for k in ranking.FEATURES)]
    for evidence, helpful in rows:
        out.x.append(tuple(float(evidence[name]) for name in ranking.FEATURES))
        out.y.append(int(helpful))
        out.w.append(weight / len(rows))
    return out


def typical_background(records: list[Record]) -> float | None:
    """The mean cosine of dense search's runners-up over `records` (see RankingModel.background)."""
    means = [ranking.background(r.hits["dense"])[0] for r in records if len(r.hits.get("dense", [])) > 1]
    return round(sum(means) / len(means), 4) if means else None


def fit_confidence(data: Examples, *, base: ranking.RankingModel) -> ranking.RankingModel:
    """Logistic regression of rightness on the features (standardised, L2), back in raw units."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    x, y, w = np.array(data.x, dtype=float), np.array(data.y), np.array(data.w, dtype=float)
    if len(set(y.tolist())) < 2:
        raise ValueError("the confidence needs both right and wrong first suggestions to fit")
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    fitted = LogisticRegression(C=RIDGE_C, max_iter=1000).fit((x - mean) / scale, y, sample_weight=w * len(w))
    coefficients = fitted.coef_[0] / scale
    bias = float(fitted.intercept_[0] - (coefficients * mean).sum())
    return replace(base, bias=round(bias, 4), **{name: round(float(c), 4) for name, c in zip(ranking.FEATURES, coefficients)})


def fit(records: list[Record], *, base: ranking.RankingModel | None = None, extra: Examples | None = None,
        groups: dict[str, str] | None = None, log: Callable[[str], None] = lambda msg: None) -> ranking.RankingModel:
    """Fusion, then the confidence of what that fusion ranks first."""
    model = fit_fusion(records, base=base, groups=groups, log=log)
    model = replace(model, background=typical_background(records))
    data = examples(records, model)
    if extra:
        data.x += extra.x
        data.y += extra.y
        data.w += extra.w
    return fit_confidence(data, base=model)


# --- 4. how a fit generalises ----------------------------------------------------------------------

def evaluate(records: list[Record], model: ranking.RankingModel, *, threshold: float) -> dict:
    """NDCG@10 per mode and the no-answer figures at `threshold`, over `records` (one set or several)."""
    scores = set_scores(records, model)
    modes = {mode: sum(s[mode] for s in scores.values()) / len(scores) for mode in ("dense", "lexical", "hybrid")} \
        if scores else {}
    decisions = no_answer_report(judged(records, model), threshold)
    return {"ndcg@10": modes, "per_set": scores, "no_answer": decisions}


def leave_one_out(records: list[Record], *, threshold: float, groups: dict[str, str] | None = None,
                  base: ranking.RankingModel | None = None,
                  log: Callable[[str], None] = lambda msg: None) -> dict[str, dict]:
    """For every dataset group: fit on the others, evaluate on it. `groups` maps a set's name to its
    dataset (sets of one source, e.g. XQuAD-R's languages, are left out together)."""
    groups = groups or {}
    names = sorted({groups.get(r.dataset, r.dataset) for r in records})
    out = {}
    for name in names:
        train = [r for r in records if groups.get(r.dataset, r.dataset) != name]
        test = [r for r in records if groups.get(r.dataset, r.dataset) == name]
        model = fit(train, base=base, groups=groups)
        out[name] = {"model": model.as_dict(), **evaluate(test, model, threshold=threshold)}
        log(f"left out {name}: hybrid {out[name]['ndcg@10'].get('hybrid', 0):.4f}")
    return out
