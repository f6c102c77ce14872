"""The translation catalogs: reading .po files, and the widget's JSON catalog generated from them.

The .po files under helpdesk/locale are the only source of translations. The widget runs on
customers' pages, outside Django, so its strings (domain "djangojs", marked with gettext_noop in
widget.js) are compiled into one static JSON file next to it: `python manage.py
build_widget_catalog` writes it, `python manage.py update_catalogs` refreshes everything.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import to_locale

from helpdesk import languages

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
WIDGET_CATALOG = Path(__file__).resolve().parent / "static" / "helpdesk" / "widget" / "catalog.json"


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str = ""
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    references: list[str] = field(default_factory=list)

    @property
    def translated(self) -> bool:
        return bool(self.msgstr) and all(self.msgstr.values())

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags


_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")$')


def read_po(path: Path) -> list[Entry]:
    """The entries of a .po file (the header and obsolete "#~" entries left out)."""
    entries: list[Entry] = []
    entry, target = Entry(), None

    def finish():
        nonlocal entry
        if target is not None and (entry.msgid or entry.msgctxt is not None):
            entries.append(entry)
        entry = Entry()

    for raw in Path(path).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            finish()
            target = None
        elif line.startswith("#,"):
            entry.flags.update(f.strip() for f in line[2:].split(","))
        elif line.startswith("#:"):
            entry.references.extend(line[2:].split())
        elif line.startswith("#"):
            continue
        elif line.startswith('"') and target is not None:
            _append(entry, target, ast.literal_eval(line))
        else:
            match = _KEYWORD.match(line)
            if not match:
                raise ValueError(f"{path}: cannot read {line!r}")
            keyword, index, value = match.groups()
            target = ("msgstr", int(index or 0)) if keyword.startswith("msgstr") else keyword
            if keyword == "msgctxt":
                entry.msgctxt = ""
            _append(entry, target, ast.literal_eval(value))
    finish()
    return entries


def _append(entry: Entry, target, text: str) -> None:
    if isinstance(target, tuple):
        entry.msgstr[target[1]] = entry.msgstr.get(target[1], "") + text
    else:
        setattr(entry, target, (getattr(entry, target) or "") + text)


def po_path(code: str, domain: str = "django") -> Path:
    return LOCALE_DIR / to_locale(code) / "LC_MESSAGES" / f"{domain}.po"


def widget_catalog() -> dict:
    """The widget's catalog: every shipped language, its direction and its translated strings."""
    catalog = {"languages": {}, "aliases": dict(sorted(languages.ALIASES.items())), "messages": {}}
    for code in languages.shipped_codes():
        catalog["languages"][code] = {"dir": languages.direction(code)}
        path = po_path(code, "djangojs")
        if code == "en" or not path.exists():
            continue
        catalog["messages"][code] = {
            e.msgid: e.msgstr[0] for e in read_po(path) if e.translated and not e.fuzzy and not e.msgid_plural}
    return catalog


def widget_catalog_json() -> str:
    return json.dumps(widget_catalog(), ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n"
