"""Lexical retrieval: PostgreSQL full-text search per language, scored with BM25.

Documents are indexed with the text-search configuration of their language (stemming and stop
words where PostgreSQL ships one, `simple` otherwise). Scripts written without spaces (Chinese,
Japanese, Thai, Lao, Khmer, Burmese) have no word boundaries the parser can see, so those runs are
rewritten as overlapping character bigrams before indexing and querying; that makes them
searchable in any configuration without a dictionary.

Queries become an OR of their lexemes (customers write long, informal text: an AND would almost
never match). PostgreSQL finds the candidates through the GIN index; BM25 (k1=1.2, b=0.75) scores
them with document frequencies from `ts_stat`, cached per process until the knowledge-base version
changes (`helpdesk.suggestion_cache`: bumped by every write to passages) or, without Redis, for a few
minutes once the knowledge base is large — IDF needs to be roughly right, not exact to the last
article saved. Reading `ts_stat` costs PostgreSQL ~8 ms for the 200-passage demo: most of a query.
"""

from __future__ import annotations

import math
import re
import threading
import time

from django.db import connection

from helpdesk import suggestion_cache

# BCP 47 primary language → PostgreSQL text-search configuration shipped with PostgreSQL 16. The
# language detector answers the macrolanguages `no` and `sh` when it cannot tell Bokmål from Nynorsk
# or Croatian, Serbian and Bosnian apart; the Serbian stemmer reads Latin and Cyrillic script.
TEXT_SEARCH_CONFIGS = {
    "ar": "arabic", "hy": "armenian", "eu": "basque", "ca": "catalan", "da": "danish", "nl": "dutch",
    "en": "english", "fi": "finnish", "fr": "french", "de": "german", "el": "greek", "hi": "hindi",
    "hu": "hungarian", "id": "indonesian", "ga": "irish", "it": "italian", "lt": "lithuanian",
    "ne": "nepali", "nb": "norwegian", "nn": "norwegian", "no": "norwegian", "pt": "portuguese",
    "ro": "romanian", "ru": "russian", "sr": "serbian", "sh": "serbian", "es": "spanish", "sv": "swedish",
    "ta": "tamil", "tr": "turkish", "yi": "yiddish",
}

_UNSPACED_RUN = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"  # kana, CJK ideographs, Hangul
    r"\u0e00-\u0e7f\u0e80-\u0eff\u1000-\u109f\u1780-\u17ff]+"  # Thai, Lao, Burmese, Khmer
)
K1, B = 1.2, 0.75
CANDIDATES = 400
STATS_TTL_SECONDS = 300.0
# Below this many passages the statistics are recomputed for every query (a few milliseconds), so a
# new knowledge base is searchable at once; above it they are cached for STATS_TTL_SECONDS.
SMALL_CORPUS = 2000
MIN_CORPUS_FOR_COMMON = 50
# Lexemes in more than this share of passages carry almost no IDF but match nearly every row.
COMMON_SHARE = 0.4
MAX_QUERY_LEXEMES = 64


def text_search_config(language: str | None) -> str:
    """Return the text-search configuration for a BCP 47 tag ('simple' when PostgreSQL has none)."""
    primary = (language or "").split("-")[0].lower()
    return TEXT_SEARCH_CONFIGS.get(primary, "simple")


def segment(text: str) -> str:
    """Rewrite runs of unspaced scripts as space-separated character bigrams ("你好吗" → "你好 好吗")."""

    def bigrams(match: re.Match) -> str:
        run = match.group(0)
        if len(run) == 1:
            return f" {run} "
        return " " + " ".join(run[i : i + 2] for i in range(len(run) - 1)) + " "

    return _UNSPACED_RUN.sub(bigrams, text or "")


def update_search_vectors(chunk_ids: list[int]) -> None:
    """Recompute the tsvector of the given chunks in their own language's configuration."""
    if not chunk_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, language, text FROM helpdesk_chunk WHERE id = ANY(%s)", [list(chunk_ids)])
        rows = cursor.fetchall()
        ids = [row[0] for row in rows]
        configs = [text_search_config(row[1]) for row in rows]
        texts = [segment(row[2]) for row in rows]
        cursor.execute(
            "UPDATE helpdesk_chunk AS c SET search_vector = to_tsvector(v.config::regconfig, v.body) "
            "FROM unnest(%s::int[], %s::text[], %s::text[]) AS v(id, config, body) WHERE c.id = v.id",
            [ids, configs, texts],
        )


class _Stats:
    """Passage count, mean length and document frequencies of the current schema's passages."""

    def __init__(self, total: int, mean_length: float, frequencies: dict[str, int], version: int | None = None):
        self.total, self.mean_length, self.frequencies = total, mean_length, frequencies
        self.loaded_at, self.version = time.monotonic(), version

    def idf(self, lexeme: str) -> float:
        df = self.frequencies.get(lexeme, 0)
        return math.log(1 + (self.total - df + 0.5) / (df + 0.5))


_stats_lock = threading.Lock()
_stats: dict[str, _Stats] = {}


def _corpus_stats() -> _Stats:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        schema = cursor.fetchone()[0]
        cached = _stats.get(schema)
        # Read before the statistics: a write meanwhile bumps it past what they are filed under.
        version = suggestion_cache.kb_version()
        if cached is not None and version is not None and cached.version == version:
            return cached
        if (cached is not None and cached.total >= SMALL_CORPUS
                and time.monotonic() - cached.loaded_at < STATS_TTL_SECONDS):
            return cached
        with _stats_lock:
            cursor.execute("SELECT word, ndoc, nentry FROM ts_stat('SELECT search_vector FROM helpdesk_chunk')")
            # Length = distinct lexemes (PostgreSQL's length(tsvector)): cheap to read per row, and
            # BM25's length normalisation only needs a consistent measure.
            frequencies, entries = {}, 0
            for word, ndoc, _ in cursor.fetchall():
                frequencies[word] = ndoc
                entries += ndoc
            cursor.execute("SELECT count(*) FROM helpdesk_chunk WHERE search_vector IS NOT NULL")
            total = cursor.fetchone()[0]
            stats = _Stats(total, entries / total if total else 1.0, frequencies, version)
            _stats[schema] = stats
            return stats


def forget_stats() -> None:
    """Drop the cached corpus statistics (after a bulk load, or between tests)."""
    _stats.clear()


def _tsquery_literal(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def query_lexemes(text: str, language: str | None) -> list[str]:
    """Return the distinct lexemes PostgreSQL makes of `text` in `language`'s configuration."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tsvector_to_array(to_tsvector(%s::regconfig, %s))",
            [text_search_config(language), segment(text)],
        )
        return list(cursor.fetchone()[0] or [])


def search(text: str, *, language: str | None, limit: int = 100) -> list[tuple[int, int, float, float]]:
    """Return (chunk id, article id, BM25 score, coverage) of the best-matching passages, best first.

    Coverage is the share of the query's total IDF that the passage contains (0..1).
    """
    lexemes = query_lexemes(text, language)
    if not lexemes:
        return []
    stats = _corpus_stats()
    if not stats.total:
        return []
    weighted = sorted(((stats.idf(lex), lex) for lex in lexemes), reverse=True)[:MAX_QUERY_LEXEMES]
    # Only words the knowledge base contains can find anything: a query whose rare words are all
    # unknown must still search with its known ones. Very common words are left out of the candidate
    # search (they still score), except in a small knowledge base where every word is "common".
    present = [lex for _, lex in weighted if stats.frequencies.get(lex)]
    if not present:
        return []
    selective = [lex for lex in present
                 if stats.total < MIN_CORPUS_FOR_COMMON or stats.frequencies[lex] <= COMMON_SHARE * stats.total]
    chosen = selective or present[:3]
    idf = {lex: stats.idf(lex) for _, lex in weighted}
    total_idf = sum(idf.values()) or 1.0
    tsquery = " | ".join(_tsquery_literal(lex) for lex in chosen)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH hits AS (
                SELECT id, article_id, search_vector FROM helpdesk_chunk
                WHERE search_vector @@ %s::tsquery
                ORDER BY ts_rank(search_vector, %s::tsquery, 1) DESC
                LIMIT %s
            )
            SELECT h.id, h.article_id, length(h.search_vector),
                   array_agg(m.lexeme), array_agg(coalesce(array_length(m.positions, 1), 1))
            FROM hits h, unnest(h.search_vector) m
            WHERE m.lexeme = ANY(%s)
            GROUP BY h.id, h.article_id, h.search_vector
            """,
            [tsquery, tsquery, max(CANDIDATES, limit), list(idf)],
        )
        rows = cursor.fetchall()
    scored = []
    for chunk_id, article_id, length, matched, counts in rows:
        norm = K1 * (1 - B + B * float(length or 1) / stats.mean_length)
        score = sum(idf[lex] * tf * (K1 + 1) / (tf + norm) for lex, tf in zip(matched, counts))
        coverage = sum(idf[lex] for lex in set(matched)) / total_idf
        scored.append((chunk_id, article_id, score, coverage))
    scored.sort(key=lambda hit: (-hit[2], hit[0]))
    return scored[:limit]
