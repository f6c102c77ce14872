"""Full-text search configuration per language (PostgreSQL's built-in text-search configs)."""

from __future__ import annotations

from django.db import connection

# BCP 47 primary language → PostgreSQL text-search configuration shipped with PostgreSQL 16.
TEXT_SEARCH_CONFIGS = {
    "ar": "arabic", "hy": "armenian", "eu": "basque", "ca": "catalan", "da": "danish", "nl": "dutch",
    "en": "english", "fi": "finnish", "fr": "french", "de": "german", "el": "greek", "hi": "hindi",
    "hu": "hungarian", "id": "indonesian", "ga": "irish", "it": "italian", "lt": "lithuanian",
    "ne": "nepali", "nb": "norwegian", "nn": "norwegian", "no": "norwegian", "pt": "portuguese",
    "ro": "romanian", "ru": "russian", "sr": "serbian", "es": "spanish", "sv": "swedish", "ta": "tamil",
    "tr": "turkish", "yi": "yiddish",
}


def text_search_config(language: str | None) -> str:
    """Return the text-search configuration for a BCP 47 tag ('simple' when PostgreSQL has none)."""
    primary = (language or "").split("-")[0].lower()
    return TEXT_SEARCH_CONFIGS.get(primary, "simple")


def update_search_vectors(chunk_ids: list[int]) -> None:
    """Recompute the tsvector of the given chunks in their own language's configuration."""
    if not chunk_ids:
        return
    with connection.cursor() as cursor:
        for config in set(TEXT_SEARCH_CONFIGS.values()) | {"simple"}:
            languages = [tag for tag, cfg in TEXT_SEARCH_CONFIGS.items() if cfg == config]
            if config == "simple":
                cursor.execute(
                    "UPDATE helpdesk_chunk SET search_vector = to_tsvector('simple', text) "
                    "WHERE id = ANY(%s) AND NOT (split_part(language, '-', 1) = ANY(%s))",
                    [chunk_ids, list(TEXT_SEARCH_CONFIGS)],
                )
            else:
                cursor.execute(
                    f"UPDATE helpdesk_chunk SET search_vector = to_tsvector('{config}', text) "
                    "WHERE id = ANY(%s) AND split_part(language, '-', 1) = ANY(%s)",
                    [chunk_ids, languages],
                )
