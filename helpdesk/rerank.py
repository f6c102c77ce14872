"""Optional second stage: a cross-encoder re-scores the fused top articles (off by default).

Set HELPDESK["RERANKER"] to a sentence-transformers CrossEncoder id or local path (for example a
multilingual reranker such as BAAI/bge-reranker-v2-m3 on a GPU). The model reads the query with
each article's best passage; its scores reorder the candidates. Confidences stay the calibrated
first-stage figures (a reranker's raw scores are not probabilities), by position: the first article
shown is always the most confident.
"""

from __future__ import annotations

import threading
from typing import Protocol

from helpdesk import conf

_lock = threading.Lock()
_cache: dict[tuple, Reranker] = {}


class Reranker(Protocol):
    name: str

    def score(self, query: str, passages: list[str]) -> list[float]:
        """Return one relevance score per passage (higher is better)."""


class CrossEncoderReranker:
    """A sentence-transformers CrossEncoder, loaded lazily (torch only in the process that re-ranks)."""

    def __init__(self, model: str, *, device: str | None = None, max_length: int = 512):
        from sentence_transformers import CrossEncoder

        self.name = model
        self._model = CrossEncoder(model, device=device, max_length=max_length)

    def score(self, query: str, passages: list[str]) -> list[float]:
        if not passages:
            return []
        scores = self._model.predict([(query, passage) for passage in passages], show_progress_bar=False)
        return [float(s) for s in scores]


def get_reranker() -> Reranker | None:
    """Return the configured reranker (cached per process), or None when re-ranking is off."""
    spec = conf.get("RERANKER")
    if not spec:
        return None
    key = (spec, conf.get("DEVICE"))
    with _lock:
        if key not in _cache:
            _cache[key] = CrossEncoderReranker(spec, device=conf.get("DEVICE"))
        return _cache[key]


def rerank_candidates(query: str, candidates: list, *, reranker: Reranker | None = None) -> list:
    """Reorder fused candidates by the reranker's score of (query, best passage); stable on ties."""
    from helpdesk.models import Chunk

    reranker = reranker or get_reranker()
    if reranker is None or not candidates:
        return candidates
    passages = dict(Chunk.objects.filter(id__in=[c.chunk_id for c in candidates]).values_list("id", "text"))
    scores = reranker.score(query, [passages.get(c.chunk_id, "") for c in candidates])
    for candidate, score in zip(candidates, scores):
        candidate.scores["rerank"] = score
    order = sorted(range(len(candidates)), key=lambda i: (-scores[i], i))
    return [candidates[i] for i in order]
