"""The desk's own notes on a ticket: stored in English, shown in each agent's dashboard language.

A note is written once but read by agents in many languages, so the stored body is the English
sentence (stable, searchable, what migrations and exports see) and the dashboard translates each
line that matches one of the sentences below when it shows it. Lines that match none (older notes,
a customer's multi-line question) are shown as stored.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext, gettext_noop

ASKED = gettext_noop("Asked in the widget: %(question)s")
FILED = gettext_noop("Filed from the widget.")
OPENED = gettext_noop("Articles opened: %(articles)s")
SUGGESTED = gettext_noop("Articles suggested: %(articles)s")
SOLVED_BY_EMAIL_LINK = gettext_noop(
    "The customer closed this ticket from the acknowledgement email: “%(title)s” [%(locale)s] answered their question.")
SENTENCES = (ASKED, FILED, OPENED, SUGGESTED, SOLVED_BY_EMAIL_LINK)


def _pattern(sentence: str) -> re.Pattern:
    parts = re.split(r"%\((\w+)\)s", sentence)
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.*)" for i, p in enumerate(parts))
    return re.compile(f"^{regex}$")


_PATTERNS = [(sentence, _pattern(sentence)) for sentence in SENTENCES]


def note(sentence: str, **values: str) -> str:
    """One line of a note as stored: the English sentence with its values."""
    return sentence % values if values else sentence


def translated(body: str) -> str:
    """The stored note with every known line in the active language."""
    lines = []
    for line in (body or "").split("\n"):
        for sentence, pattern in _PATTERNS:
            match = pattern.match(line)
            if match:
                line = gettext(sentence) % match.groupdict() if match.groupdict() else gettext(sentence)
                break
        lines.append(line)
    return "\n".join(lines)
