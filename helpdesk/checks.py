"""System checks: misconfiguration is reported with stable ids, not as a stack trace later.

helpdesk.E001  the database has no pgvector (`vector` extension neither installed nor available)
helpdesk.E002  the configured vectors are too large for pgvector's HNSW index
helpdesk.E003  the database cannot be reached
helpdesk.E004  the configured language-ID model file (HELPDESK["LANGUAGE_MODEL"]) does not exist
helpdesk.W001  chunks are embedded by another encoder or vector size (re-embedding pending)
"""

from __future__ import annotations

from django.core.checks import Error, Warning, register
from django.db import DatabaseError, connections

from embeddings.catalog import MAX_INDEXED_DIMENSIONS


@register("helpdesk")
def check_pgvector(app_configs=None, **kwargs):
    # Registered without the `database` tag on purpose: a plain `manage.py check` (and every
    # `migrate`) must say so when pgvector is missing, before a migration fails on CREATE EXTENSION.
    connection = connections["default"]
    if connection.vendor != "postgresql":
        return [Error("Polyglot Desk needs PostgreSQL with pgvector.", id="helpdesk.E001",
                      hint=f"DATABASES['default'] uses {connection.vendor}.")]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT installed_version, default_version FROM pg_available_extensions WHERE name = 'vector'")
            row = cursor.fetchone()
    except DatabaseError as exc:
        return [Error(f"Cannot reach the database: {exc}".strip(), id="helpdesk.E003",
                      hint="Check DATABASE_URL, or unset it to use the embedded PostgreSQL under var/.")]
    if row is None:
        return [Error(
            "The PostgreSQL server has no pgvector extension ('vector'), which stores and searches embeddings.",
            id="helpdesk.E001",
            hint="Install pgvector on the server (Debian: apt install postgresql-16-pgvector; Docker: the "
                 "pgvector/pgvector image), or unset DATABASE_URL to use the embedded PostgreSQL, which includes it.",
        )]
    return []


@register("helpdesk")
def check_vector_size(app_configs=None, **kwargs):
    from helpdesk import conf
    from helpdesk.encoders import CATALOG

    spec, dims = conf.get("ENCODER"), conf.get("EMBEDDING_DIMENSIONS")
    size = dims or (CATALOG[spec].dimensions if spec in CATALOG else None)
    if size and int(size) > MAX_INDEXED_DIMENSIONS:
        return [Error(
            f"HELPDESK encoder {spec!r} gives {size}-dimensional vectors; pgvector indexes at most "
            f"{MAX_INDEXED_DIMENSIONS}.",
            id="helpdesk.E002",
            hint="Set HELPDESK['EMBEDDING_DIMENSIONS'] (Matryoshka truncation, e.g. 1024) or choose a smaller model.",
        )]
    return []


@register("helpdesk")
def check_language_model(app_configs=None, **kwargs):
    from pathlib import Path

    from helpdesk import conf

    model = conf.get("LANGUAGE_MODEL")
    if model and not Path(model).expanduser().is_file():
        return [Error(
            f"The language-ID model {model!r} (HELPDESK_LANGUAGE_MODEL) is not a file.",
            id="helpdesk.E004",
            hint="Point it at a fastText model file such as lid.176.bin, or unset it to use the bundled lid.176.ftz.",
        )]
    return []


@register("helpdesk", "database")
def check_stale_vectors(app_configs=None, databases=None, **kwargs):
    if not databases or "default" not in databases:
        return []
    from helpdesk.encoders import encoder_name
    from helpdesk.models import Chunk

    try:
        stale = Chunk.objects.exclude(encoder="").exclude(encoder=encoder_name()).count()
    except DatabaseError:
        return []
    if stale:
        return [Warning(
            f"{stale} chunks were embedded by another encoder than {encoder_name()!r}.",
            id="helpdesk.W001",
            hint="The periodic sweep re-embeds them; run `manage.py embed_pending` to do it now.",
        )]
    return []


@register("helpdesk")
def check_outgoing_email(app_configs=None, **kwargs):
    """Outside DEBUG, customers must be able to answer our email and open its links."""
    from email.utils import getaddresses
    from urllib.parse import urlsplit

    from django.conf import settings

    from helpdesk import conf

    if settings.DEBUG:
        return []
    problems = []
    address = getaddresses([conf.get("REPLY_ADDRESS") or conf.get("FROM_EMAIL") or ""])[0][1]
    if address.rpartition("@")[2] in ("", "localhost"):
        problems.append(Warning(
            f"Customers' replies would go to {address or 'no address'}, which no mail server outside this "
            "machine can reach.", id="helpdesk.W020",
            hint="Set HELPDESK_FROM_EMAIL (and HELPDESK_REPLY_ADDRESS) to your support mailbox."))
    host = urlsplit(conf.get("SITE_URL") or "").hostname or ""
    if host in ("", "localhost", "127.0.0.1", "::1"):
        problems.append(Warning(
            f"Links in emails point at {conf.get('SITE_URL')!r}, which customers cannot open.", id="helpdesk.W021",
            hint="Set HELPDESK_SITE_URL to the desk's public address, e.g. https://desk.example.com."))
    return problems
