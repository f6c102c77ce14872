"""What every importer produces: records of one article in one locale, and the error they raise."""

from __future__ import annotations

from dataclasses import dataclass

TITLE_MAX_CHARS = 300
# Text a spreadsheet runs as a formula when a cell starts with it (the CSV export guards such cells).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
STATUSES = ("draft", "published")


class ImportFormatError(ValueError):
    """The file cannot be imported; the message says why, in words for the admin."""


@dataclass
class Record:
    title: str
    body: str
    locale: str | None = None
    external_id: str | None = None
    category: str | None = None
    translation_key: str | None = None
    status: str | None = None
    where: str = ""  # "row 4", "record 2", "" for one-article files

    def __post_init__(self):
        # JSON can carry half a UTF-16 pair ("\\ud800"): not text, and PostgreSQL refuses to store it.
        for name in ("title", "body", "locale", "external_id", "category", "translation_key", "status"):
            value = getattr(self, name)
            if isinstance(value, str):
                setattr(self, name, value.encode("utf-8", "replace").decode("utf-8"))

    def problems(self) -> list[str]:
        """What makes this record unusable (empty list when it is fine)."""
        found = []
        if not self.title.strip():
            found.append("the title is empty")
        elif len(self.title.strip()) > TITLE_MAX_CHARS:
            found.append(f"the title is longer than {TITLE_MAX_CHARS} characters")
        if not self.body.strip():
            found.append("the body is empty")
        if self.status and self.status not in STATUSES:
            found.append(f"status must be one of {', '.join(STATUSES)}, not {self.status!r}")
        if self.category and len(self.category) > 100:
            found.append("the category is longer than 100 characters")
        if self.external_id and len(self.external_id) > 255:
            found.append("the external id is longer than 255 characters")
        return found


def validated(records: list[Record]) -> list[Record]:
    """Return the records, or raise one error listing every bad record (the file is then skipped)."""
    errors = []
    for record in records:
        for problem in record.problems():
            errors.append(f"{record.where}: {problem}" if record.where else problem)
    if errors:
        raise ImportFormatError("; ".join(errors[:20]) + (f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""))
    return records


# Column / field names accepted for each record attribute, lower-cased and with spaces as "_".
FIELD_ALIASES = {
    "title": ("title", "question", "name", "subject"),
    "body": ("body", "content", "text", "answer", "html", "body_html"),
    "locale": ("locale", "language", "lang"),
    "external_id": ("external_id", "id", "externalid", "article_id"),
    "category": ("category", "section"),
    "translation_key": ("translation_key", "translation_group", "key", "group"),
    "status": ("status",),
}


def field_names(names) -> dict[str, str]:
    """Map record attributes to the given column names (first alias present wins)."""
    normalised = {str(n).strip().lower().replace(" ", "_").replace("-", "_"): n for n in names if n is not None}
    found = {}
    for field, aliases in FIELD_ALIASES.items():
        for alias in aliases:
            if alias in normalised:
                found[field] = normalised[alias]
                break
    return found


def optional(value) -> str | None:
    """A metadata value as a stripped string, or None when absent/blank."""
    if value is None:
        return None
    value = str(value).strip()
    return value or None
