"""Helpers for the inbound-email tests: settings, fixtures on disk, and messages built like real mail."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "email"
SUPPORT = "Acme Support <support@acme.test>"


@pytest.fixture
def mail_settings(settings, tmp_path):
    """Our address is support@acme.test; attachments go to a temporary MEDIA_ROOT."""
    settings.HELPDESK = {"FROM_EMAIL": SUPPORT, "INBOUND_SENDER_LIMIT": 10_000}
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings


@pytest.fixture
def refuse():
    """Make PostgreSQL itself refuse a write with a trigger, the way a constraint, a read-only replica or
    a full disk would: `refuse(table, sql_condition, message)`; `refuse.drop()` (and teardown) lift it."""
    from django.db import connection

    made = []

    def install(table: str, when: str, message: str):
        name = f"test_refuse_{len(made)}"
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE FUNCTION {name}() RETURNS trigger AS $$ BEGIN IF {when} THEN "
                           f"RAISE EXCEPTION '{message}'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql")
            cursor.execute(f"CREATE TRIGGER {name} BEFORE INSERT OR UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()")
        made.append((name, table))

    def drop():
        with connection.cursor() as cursor:
            for name, table in made:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
                cursor.execute(f"DROP FUNCTION IF EXISTS {name}()")
        made.clear()

    install.drop = drop
    yield install
    drop()


def corpus() -> list[Path]:
    return sorted(FIXTURES.glob("*.eml"))


def expected_text(path: Path) -> str:
    return path.with_name(path.name.removesuffix(".eml") + ".expected.txt").read_text(encoding="utf-8").strip()


def message(*, sender="Dana Scott <dana@example.com>", to="support@acme.test", subject="Printer offline",
            body="My printer shows offline since this morning.", headers: dict | None = None,
            message_id: str | None = None) -> bytes:
    """A plain UTF-8 message as a mail client would send it; `headers` adds or overrides."""
    fields = {
        "From": sender, "To": to, "Subject": subject, "Date": "Mon, 3 Mar 2025 10:00:00 +0000",
        "Message-ID": f"<{message_id or uuid.uuid4().hex + '@example.com'}>", "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=utf-8", "Content-Transfer-Encoding": "8bit",
    }
    fields.update(headers or {})
    head = "".join(f"{name}: {value}\r\n" for name, value in fields.items() if value is not None)
    return (head + "\r\n" + body.replace("\n", "\r\n") + "\r\n").encode("utf-8")
