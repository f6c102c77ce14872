"""Lexical retrieval: PostgreSQL full-text search per language, scored with BM25.

Documents are indexed with the text-search configuration of their language (stemming and stop
words where PostgreSQL ships one, `simple` otherwise). Scripts written without spaces (Chinese,
Japanese, Thai, Lao, Khmer, Burmese) have no word boundaries the parser can see, so those runs are
rewritten as overlapping character bigrams before indexing and querying; that makes them
searchable in any configuration without a dictionary.

A query is analysed the way each passage it is compared with was indexed: once per configuration
the knowledge base uses, and each passage is matched and scored with the lexemes of its own
configuration (as a search engine analyses a query with each field's analyser). The query's
detected language does not decide which words can match, so a short question the detector gets
wrong still finds the articles that share its words.

Queries are an OR of their lexemes (customers write long, informal text: an AND would almost
never match). PostgreSQL finds the candidates through the GIN index; BM25 (k1=1.2, b=0.75) scores
them. As for plain BM25 over whole articles: document frequencies count articles (a long
article's title, repeated in each of its passages, is not made common by its own length) and
lengths count words. The statistics are cached per process until the knowledge-base version
changes (`helpdesk.suggestion_cache`: bumped by every write to passages); without Redis, until a
passage changes (small knowledge bases) or for a few minutes (large ones) — IDF needs to be roughly
right, not exact to the last article saved.
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
# Without Redis's knowledge-base version: below this many passages the statistics are recomputed
# whenever a passage was added, changed or removed (a cheap count and maxima tell), so a new
# knowledge base is searchable at once; above it they are cached for STATS_TTL_SECONDS.
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
    forget_stats()  # this process at once; others see the change through the passages' version


class _Stats:
    """Article count, mean passage length in words, articles per lexeme, the configurations the
    passages were indexed with (configuration → the language tags of its passages), and which of
    those configurations' passages hold each lexeme (a bit per configuration, in `configs` order)."""

    def __init__(self, total: int, passages: int, mean_length: float, frequencies: dict[str, int],
                 configs: dict[str, list[str]], version: int | None = None, local_version: tuple = (),
                 held_by: dict[str, int] | None = None):
        self.total, self.passages, self.mean_length = total, passages, mean_length
        self.frequencies, self.configs, self.held_by = frequencies, configs, held_by
        self._bits = {config: 1 << i for i, config in enumerate(configs)}
        self.loaded_at, self.version, self.local_version = time.monotonic(), version, local_version

    def idf(self, lexeme: str) -> float:
        df = self.frequencies.get(lexeme, 0)
        return math.log(1 + (self.total - df + 0.5) / (df + 0.5))

    def held_in(self, lexeme: str, config: str) -> bool:
        """Whether a passage indexed with `config` holds `lexeme` (True when not known)."""
        return self.held_by is None or bool(self.held_by.get(lexeme, 0) & self._bits.get(config, 0))


_stats_lock = threading.Lock()
_stats: dict[str, _Stats] = {}


def _version(cursor) -> tuple:
    cursor.execute("SELECT count(*), max(id), max(updated_at) FROM helpdesk_chunk WHERE search_vector IS NOT NULL")
    return tuple(cursor.fetchone())


def _corpus_stats() -> _Stats:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        schema = cursor.fetchone()[0]
        cached = _stats.get(schema)
        # Read before the statistics: a write meanwhile bumps it past what they are filed under.
        version = suggestion_cache.kb_version()
        if cached is not None:
            if version is not None and cached.version == version:
                return cached
            if cached.passages >= SMALL_CORPUS:
                if time.monotonic() - cached.loaded_at < STATS_TTL_SECONDS:
                    return cached
            elif version is None and cached.local_version == _version(cursor):
                return cached
        with _stats_lock:
            local_version = _version(cursor)
            # Frequencies count articles, not passages (ts_stat's ndoc): every passage repeats its
            # article's title, so per passage the title words of long articles looked common
            # (StackFAQ lexical NDCG@10 0.846 → 0.856 counting articles).
            cursor.execute(
                "SELECT coalesce(language, ''), count(*), count(DISTINCT article_id) FROM helpdesk_chunk "
                "WHERE search_vector IS NOT NULL GROUP BY 1"
            )
            configs: dict[str, list[str]] = {}
            total = passages = 0
            for language, n_passages, n_articles in cursor.fetchall():
                configs.setdefault(text_search_config(language), []).append(language)
                passages += n_passages
                total += n_articles
            bit = {language: 1 << i for i, languages in enumerate(configs.values()) for language in languages}
            cursor.execute(
                "SELECT m.lexeme, count(DISTINCT c.article_id), sum(coalesce(array_length(m.positions, 1), 1)), "
                "array_agg(DISTINCT coalesce(c.language, '')) "
                "FROM helpdesk_chunk c, unnest(c.search_vector) m GROUP BY m.lexeme"
            )
            frequencies, held_by, words = {}, {}, 0
            for lexeme, articles, occurrences, languages in cursor.fetchall():
                frequencies[lexeme] = articles
                held_by[lexeme] = sum({bit.get(language, 0) for language in languages})
                words += occurrences
            stats = _Stats(total, passages, words / passages if passages else 1.0, frequencies, configs,
                           version, local_version, held_by)
            _stats[schema] = stats
            return stats


def forget_stats() -> None:
    """Drop the cached corpus statistics (after a bulk load, or between tests)."""
    _stats.clear()


def _tsquery_literal(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def query_lexemes(text: str, language: str | None) -> list[str]:
    """Return the distinct lexemes PostgreSQL makes of `text` in `language`'s configuration."""
    return analyse(text, [text_search_config(language)])[text_search_config(language)]


def analyse(text: str, configs: list[str]) -> dict[str, list[str]]:
    """Return the distinct lexemes of `text` in each of the text-search configurations `configs`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c, tsvector_to_array(to_tsvector(c::regconfig, %s)) FROM unnest(%s::text[]) AS c",
            [segment(text), list(configs)],
        )
        return {config: list(lexemes or []) for config, lexemes in cursor.fetchall()}


def _function_letter(lexeme: str) -> bool:
    return len(lexeme) == 1 and lexeme.isalpha() and not _UNSPACED_RUN.match(lexeme)


def search(text: str, *, language: str | None, limit: int = 100) -> list[tuple[int, int, float, float]]:
    """Return (chunk id, article id, BM25 score, coverage) of the best-matching passages, best first.

    Each passage is matched with the lexemes its own language's configuration makes of `text`;
    `language`, the query's, decides nothing here: callers pass it, matching follows the passages.
    Coverage is the share of the query's total IDF (in the passage's configuration) that the
    passage contains (0..1).
    """
    stats = _corpus_stats()
    if not stats.total:
        return []
    groups = []  # (languages, tsquery, {lexeme: idf}) per configuration the query has words for
    for config, lexemes in analyse(text, list(stats.configs)).items():
        if config == "simple":
            # Without a stop-word list, one-letter words are nearly all function words (Czech,
            # Polish and Slovak prepositions and conjunctions, Vietnamese particles) that bury the
            # words carrying the question; plain BM25's tokenizer drops them too (XQuAD-R vi
            # 0.872 → 0.875). Digits and single CJK/Thai characters stay.
            lexemes = [lex for lex in lexemes if not _function_letter(lex)] or lexemes
        weighted = sorted(((stats.idf(lex), lex) for lex in lexemes), reverse=True)[:MAX_QUERY_LEXEMES]
        # Only words the knowledge base contains can find anything: a query whose rare words are all
        # unknown must still search with its known ones. Very common words are left out of the
        # candidate search (they still score), except in a small knowledge base where every word is
        # "common".
        present = [lex for _, lex in weighted if stats.frequencies.get(lex)]
        if not present:
            continue
        selective = [lex for lex in present
                     if stats.total < MIN_CORPUS_FOR_COMMON or stats.frequencies[lex] <= COMMON_SHARE * stats.total]
        chosen = selective or present[:3]
        if not any(stats.held_in(lex, config) for lex in chosen):
            # No passage of this configuration holds any of these words: its index search would
            # find nothing (Chinese bigrams in the German configuration, English words in the Greek).
            continue
        tsquery = " | ".join(_tsquery_literal(lex) for lex in chosen)
        groups.append((stats.configs[config], tsquery, {lex: idf for idf, lex in weighted}))
    if not groups:
        return []
    # One index search per configuration, each among the passages indexed with it. The length in
    # words and the matched lexemes of each candidate come from one pass over its tsvector, in the
    # tsvector's order, so passages with the same words score the same to the last bit and tie on
    # id (grouping the unnested rows summed them in an order that varied by passage).
    candidates = " UNION ALL ".join(
        "(SELECT id, article_id, search_vector, %s AS g FROM helpdesk_chunk "
        "WHERE coalesce(language, '') = ANY(%s) AND search_vector @@ %s::tsquery "
        "ORDER BY ts_rank(search_vector, %s::tsquery, 1) DESC LIMIT %s)" for _ in groups
    )
    params: list = []
    for g, (languages, tsquery, _) in enumerate(groups):
        params += [g, list(languages), tsquery, tsquery, max(CANDIDATES, limit)]
    every_lexeme = sorted({lex for _, _, idf in groups for lex in idf})
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH hits AS ({candidates})
            SELECT h.id, h.article_id, h.g, w.length, w.lexemes, w.counts
            FROM hits h CROSS JOIN LATERAL (
                SELECT sum(x.n) AS length, array_agg(x.lexeme) FILTER (WHERE x.lexeme = ANY(%s)) AS lexemes,
                       array_agg(x.n) FILTER (WHERE x.lexeme = ANY(%s)) AS counts
                FROM (SELECT m.lexeme, coalesce(array_length(m.positions, 1), 1) AS n FROM unnest(h.search_vector) m) x
            ) w
            WHERE w.lexemes IS NOT NULL
            """,
            params + [every_lexeme, every_lexeme],
        )
        rows = cursor.fetchall()
    scored = []
    for chunk_id, article_id, g, length, matched, counts in rows:
        idf = groups[g][2]
        # Length in words, as BM25 counts it (distinct lexemes favoured passages repeating a word).
        norm = K1 * (1 - B + B * float(length or 1) / stats.mean_length)
        pairs = [(lex, tf) for lex, tf in zip(matched, counts) if lex in idf]
        if not pairs:
            continue
        score = sum(idf[lex] * tf * (K1 + 1) / (tf + norm) for lex, tf in pairs)
        coverage = sum(idf[lex] for lex, _ in pairs) / (sum(idf.values()) or 1.0)
        scored.append((chunk_id, article_id, score, coverage))
    scored.sort(key=lambda hit: (-hit[2], hit[0]))
    return scored[:limit]
