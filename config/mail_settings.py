"""Outgoing-mail settings from the environment: one EMAIL_URL, or Django's usual EMAIL_* variables.

    EMAIL_URL=submission://user:password@smtp.example.com:587       STARTTLS on 587
    EMAIL_URL=smtp://user:password@smtp.example.com:465?ssl=1        implicit TLS
    EMAIL_URL=smtp://127.0.0.1:1025                                  a local relay or capture server
    EMAIL_URL=console://                                             print instead of sending

EMAIL_URL is parsed by dj-email-url (user and password URL-quoted). Without it, EMAIL_HOST,
EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS, EMAIL_USE_SSL, EMAIL_TIMEOUT and
EMAIL_BACKEND are read one by one; Django's defaults apply to whatever is unset.
"""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT_TIMEOUT = 30  # seconds: a hung SMTP server must not hold a worker forever

_TRUE = {"1", "true", "yes", "on"}


def from_environment(environ: Mapping[str, str]) -> dict:
    """Return the EMAIL_* Django settings the environment asks for."""
    if environ.get("EMAIL_URL"):
        import dj_email_url

        parsed = dj_email_url.parse(environ["EMAIL_URL"])
        out = {key: value for key, value in parsed.items() if value is not None and key != "EMAIL_FILE_PATH"}
        if parsed.get("EMAIL_FILE_PATH"):
            out["EMAIL_FILE_PATH"] = "/" + parsed["EMAIL_FILE_PATH"]
        out.setdefault("EMAIL_TIMEOUT", DEFAULT_TIMEOUT)
        out["EMAIL_HOST_USER"] = out.get("EMAIL_HOST_USER") or ""
        out["EMAIL_HOST_PASSWORD"] = out.get("EMAIL_HOST_PASSWORD") or ""
        return out
    out: dict = {"EMAIL_TIMEOUT": DEFAULT_TIMEOUT}
    for name in ("EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD"):
        if environ.get(name):
            out[name] = environ[name]
    for name in ("EMAIL_PORT", "EMAIL_TIMEOUT"):
        if environ.get(name):
            out[name] = int(environ[name])
    for name in ("EMAIL_USE_TLS", "EMAIL_USE_SSL"):
        if environ.get(name):
            out[name] = environ[name].strip().lower() in _TRUE
    if out.get("EMAIL_USE_TLS") and out.get("EMAIL_USE_SSL"):
        raise ValueError("EMAIL_USE_TLS and EMAIL_USE_SSL are exclusive: TLS is STARTTLS (587), SSL is implicit TLS (465)")
    return out
