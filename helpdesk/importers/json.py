"""JSON files: a list of articles, `{"articles": [...]}` (our export), or grouped translations.

Grouped form (as in the demo KB): `{"articles": [{"key": ..., "category": ..., "translations":
{"en": {"title": ..., "body": ...}, "es": {...}}}]}`: each translation becomes an article and they
share the group's key.
"""

from __future__ import annotations

import json

from helpdesk.importers.cleaning import body_to_text, decode_text
from helpdesk.importers.records import ImportFormatError, Record, field_names, optional, validated

META = ("locale", "external_id", "category", "translation_key", "status")


def parse(name: str, data: bytes) -> list[Record]:
    try:
        payload = json.loads(decode_text(data))
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc
    items = payload.get("articles") if isinstance(payload, dict) else payload
    if isinstance(payload, dict) and items is None and "title" in payload:
        items = [payload]
    if not isinstance(items, list):
        raise ImportFormatError('expected a list of articles or an object with an "articles" list')
    records = []
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise ImportFormatError(f"record {n}: expected an object, found {type(item).__name__}")
        if isinstance(item.get("translations"), dict):
            records.extend(_grouped(item, n))
        else:
            records.append(_flat(item, where=f"record {n}"))
    return validated(records)


def _flat(item: dict, *, where: str, defaults: dict | None = None) -> Record:
    fields = field_names(item)
    values = {f: item.get(column) for f, column in fields.items()}
    meta = {f: optional(values.get(f)) for f in META}
    for key, value in (defaults or {}).items():
        meta[key] = meta[key] or value
    return Record(
        title=str(values.get("title") or "").strip(), body=body_to_text(str(values.get("body") or "")),
        where=where, **meta,
    )


def _grouped(item: dict, n: int) -> list[Record]:
    fields = field_names(item)
    key = optional(item.get(fields["translation_key"])) if "translation_key" in fields else None
    if key is None:
        key = optional(item.get(fields["external_id"])) if "external_id" in fields else None
    defaults = {"translation_key": key, "category": optional(item.get("category")), "status": optional(item.get("status"))}
    records = []
    for locale, translation in item["translations"].items():
        if not isinstance(translation, dict):
            raise ImportFormatError(f"record {n}, {locale}: expected an object with title and body")
        records.append(_flat(translation, where=f"record {n} ({locale})", defaults={**defaults, "locale": locale}))
    return records
