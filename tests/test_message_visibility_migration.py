"""Upgrading a desk that already has conversations: every agent message written before public replies and
internal notes existed stays a public reply (what customers were already sent), nothing becomes a note.

Runs the real migrations on a fresh database of the test server, in a child process: up to the last
migration before message visibility, writes a conversation with the models of that time, then migrates on.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import psycopg
import pytest
from django.db import connection

from config import embedded
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db

SCRIPT = r"""
import django
django.setup()
from pathlib import Path
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
import helpdesk.migrations as m

def named(suffix):  # migrations are found by name: they are renumbered when branches merge
    return ("helpdesk", next(p.stem for p in Path(m.__file__).parent.glob(f"*_{suffix}.py")))

before, after = named("chunk_search_gin_index"), named("message_visibility_and_email_id")
executor = MigrationExecutor(connection)
executor.migrate([before])
old = executor.loader.project_state([before]).apps
Ticket, Message = old.get_model("helpdesk", "Ticket"), old.get_model("helpdesk", "Message")
ticket = Ticket.objects.create(subject="Printer offline", requester_email="dana@example.com")
Message.objects.create(ticket=ticket, author_kind="customer", body="My printer is offline.")
Message.objects.create(ticket=ticket, author_kind="agent", body="Please restart it.")
MigrationExecutor(connection).migrate([after])
with connection.cursor() as cursor:
    cursor.execute("SELECT author_kind, visibility FROM helpdesk_message ORDER BY id")
    print(cursor.fetchall())
"""


def test_agent_messages_written_before_the_upgrade_stay_public_replies():
    settings = dict(connection.settings_dict)
    name = f"test_upgrade_{uuid.uuid4().hex[:8]}"
    admin = embedded.database_url(settings).replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        env = {**os.environ, "DATABASE_URL": embedded.database_url({**settings, "NAME": name}),
               "DJANGO_SETTINGS_MODULE": "config.settings", "HF_HUB_OFFLINE": "1"}
        result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        assert result.stdout.strip().splitlines()[-1] == "[('customer', 'public'), ('agent', 'public')]"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
