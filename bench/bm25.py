"""The BM25 reference: the `bm25s` library over the same labelled sets, beside every figure."""

from __future__ import annotations

from helpdesk import ranking

# PyStemmer's algorithms by BCP 47 primary language.
STEMMERS = {"ar": "arabic", "de": "german", "el": "greek", "en": "english", "es": "spanish", "hi": "hindi",
            "ru": "russian", "tr": "turkish", "fr": "french", "it": "italian", "nl": "dutch", "pt": "portuguese"}


def bm25_reference(corpus: list[dict], queries: list[tuple[str, str]], qrels: dict, *, language: str = "en",
                   plain: bool = False) -> dict:
    """Score (query id, text) pairs with bm25s (Lucene variant, k1=1.5, b=0.75, stemmer and stop words
    of `language` where PyStemmer/bm25s have them); return mean metrics.

    `plain`: bm25s's default tokenizer instead (English stop words, no stemmer), the "plain BM25"
    a team would try first: on short questions it can beat a stemmer, so lexical search is held to both."""
    import bm25s
    import Stemmer

    if plain:
        stemmer, stopwords = None, "english"
    else:
        stemmer = Stemmer.Stemmer(STEMMERS[language]) if language in STEMMERS else None
        stopwords = language if language in ("en", "de", "es", "fr", "it", "pt", "nl", "ru") else None
    texts = [f"{d.get('title', '')}\n{d.get('text', '')}" for d in corpus]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords=stopwords, stemmer=stemmer, show_progress=False), show_progress=False)
    ids = [str(d["_id"]) for d in corpus]
    vocabulary = set(retriever.vocab_dict)
    rows = []
    k = min(100, len(corpus))
    for qid, text in queries:
        query_tokens = [t for t in bm25s.tokenize([text], stopwords=stopwords, stemmer=stemmer, show_progress=False,
                                                  return_ids=False)[0] if t in vocabulary]
        if not query_tokens:
            ranked = []
        else:
            docs, scores = retriever.retrieve([query_tokens], k=k, show_progress=False)
            ranked = [ids[i] for i, s in zip(docs[0], scores[0]) if s > 0]
        relevant = qrels.get(qid, {})
        rows.append((ranking.ndcg_at(ranked, relevant, 10), ranking.recall_at(ranked, relevant, 10),
                     ranking.recall_at(ranked, relevant, 100), ranking.mrr_at(ranked, relevant, 10)))
    n = len(rows) or 1
    keys = ("ndcg@10", "recall@10", "recall@100", "mrr@10")
    return {key: round(sum(r[i] for r in rows) / n, 4) for i, key in enumerate(keys)} | {"queries": len(rows)}
