"""Text from outside, made storable: what PostgreSQL, the language detectors and exports all accept.

One cleaning for every way text comes in (JSON bodies, query strings, services fed by other channels),
so no view has to remember it: PostgreSQL refuses NUL in text, psycopg cannot encode a lone UTF-16
surrogate (JSON's "\\ud800"), and the other C0 control characters are never text a person wrote.
"""

from __future__ import annotations

import re

# NUL and the C0 controls other than tab, newline and carriage return.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def storable(value: str) -> str:
    """Return `value` without control characters and with each lone surrogate replaced by "?"."""
    value = _CONTROLS.sub("", value)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value
