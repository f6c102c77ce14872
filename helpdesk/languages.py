"""The languages the product ships, and how a browser's or a detector's tag maps onto one of them.

The list itself is `settings.LANGUAGES` (read at call time). Every language in it has the widget's
strings, the customer emails and the public pages; the dashboard is translated in full for
DASHBOARD_COMPLETE (tests/test_catalogs.py holds both promises) and falls back to English elsewhere.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import get_language_info

DASHBOARD_COMPLETE = ("en", "es", "fr", "de", "ar", "ja")

# Tags browsers and language detectors use for a language we ship under another code.
ALIASES = {
    "zh": "zh-hans", "zh-cn": "zh-hans", "zh-sg": "zh-hans", "zh-my": "zh-hans",
    "zh-tw": "zh-hant", "zh-hk": "zh-hant", "zh-mo": "zh-hant",
    "no": "nb", "nn": "nb", "iw": "he", "in": "id", "zsm": "ms", "pes": "fa", "prs": "fa",
}


def shipped_codes() -> list[str]:
    return [code for code, _ in settings.LANGUAGES]


def shipped_language(tag: str | None) -> str | None:
    """The shipped language code for a BCP 47 tag ("fr-CA" → "fr", "zh-Hant-TW" → "zh-hant"), or None."""
    codes = set(shipped_codes())
    parts = str(tag or "").strip().lower().replace("_", "-").split("-")
    if not parts[0]:
        return None
    if len(parts) > 1 and parts[0] == "zh":  # script first (zh-Hant-HK), then region (zh-TW)
        if "hant" in parts or "hans" in parts:
            return "zh-hant" if "hant" in parts else "zh-hans"
    for candidate in ("-".join(parts[:2]), parts[0]):
        candidate = ALIASES.get(candidate, candidate)
        if candidate in codes:
            return candidate
    return None


def direction(code: str) -> str:
    try:
        return "rtl" if get_language_info(code)["bidi"] else "ltr"
    except KeyError:
        return "ltr"
