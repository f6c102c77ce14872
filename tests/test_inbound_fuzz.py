"""Hostile mail never crashes the service and never loses a raw message (a sample of the 10,000-message
fuzz that `python -m bench email_fuzz` runs)."""

import hashlib

import pytest
from django.db import connection

from bench.email_mutations import mutated
from helpdesk.models import InboundEmail
from helpdesk.services.inbound_email import process_inbound, store_raw
from tests.inbound_support import mail_settings  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def test_three_hundred_mutated_messages_are_each_kept_and_answered_with_a_state(mail_settings):
    messages = [raw for _, raw in mutated(300, seed=20261202)]
    states = {}
    for raw in messages:
        row, _ = store_raw(raw=raw, source="command", queue=False)
        states[row.pk] = process_inbound(row.pk).state  # raises on any unhandled exception

    assert set(states.values()) <= {"processed", "ignored", "failed"}
    assert len(states) == len(set(messages))
    with connection.cursor() as cursor:
        cursor.execute("SELECT encode(sha256(raw), 'hex'), digest FROM helpdesk_inboundemail")
        stored = cursor.fetchall()
    assert all(computed == digest for computed, digest in stored)
    assert {hashlib.sha256(raw).hexdigest() for raw in messages} == {digest for _, digest in stored}
    failed = InboundEmail.objects.filter(state="failed")
    assert all(row.error for row in failed)
    assert InboundEmail.objects.filter(state="processed").count() > 50  # mutations leave much mail readable
