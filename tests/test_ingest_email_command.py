"""`manage.py ingest_email`: an MTA pipe on stdin, .eml files, Maildirs and mbox files; and
`reprocess_email` for what failed."""

import mailbox
import subprocess
import sys
import uuid

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from helpdesk.models import InboundEmail, Ticket
from tests.conftest import ROOT, service_env
from tests.inbound_support import FIXTURES, mail_settings, message  # noqa: F401  (fixture)


@pytest.mark.django_db(transaction=True)
def test_an_mta_pipe_on_stdin_becomes_a_ticket_in_another_process():
    sender = f"pipe-{uuid.uuid4().hex[:8]}@example.com"  # the hourly per-sender limit outlives test runs
    raw = (f"From {sender}  Mon Mar  3 10:00:00 2025\n".encode()
           + message(sender=f"Dana <{sender}>", subject="Piped in", body="Hallo, mein Konto ist gesperrt."))

    result = subprocess.run([sys.executable, "manage.py", "ingest_email", "-"], input=raw, cwd=ROOT,
                            env=service_env(), capture_output=True, timeout=120)

    assert result.returncode == 0, result.stderr.decode()
    assert b"stdin: inbound #" in result.stdout and b"processed, ticket #" in result.stdout
    row = InboundEmail.objects.get(source="command")
    assert bytes(row.raw).startswith(b"From: Dana")
    assert InboundEmail.objects.get(source="command").sender == sender  # the envelope line is not part of the message
    ticket = Ticket.objects.get(pk=row.ticket_id)
    assert (ticket.subject, ticket.language, ticket.channel) == ("Piped in", "de", "email")


@pytest.mark.django_db(transaction=True)
def test_a_database_outage_exits_75_so_the_mta_keeps_the_mail_and_retries():
    env = service_env(DATABASE_URL="postgresql://nobody:wrong@127.0.0.1:1/none")
    result = subprocess.run([sys.executable, "manage.py", "ingest_email", "-"], input=message(), cwd=ROOT,
                            env=env, capture_output=True, timeout=120)
    assert result.returncode == 75, result.stderr.decode()[-2000:]


@pytest.mark.django_db
def test_a_maildir_an_mbox_and_eml_files_are_ingested_once_each(mail_settings, tmp_path, capsys):
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    for n in range(3):
        box.add(message(subject=f"Maildir {n}", sender=f"m{n}@example.com"))
    mbox = mailbox.mbox(tmp_path / "archive.mbox", create=True)
    mbox.add(message(subject="Mbox one", sender="a@example.com"))
    mbox.add(message(subject="Mbox two", sender="b@example.com", headers={"Auto-Submitted": "auto-replied"}))
    mbox.flush()

    call_command("ingest_email", str(tmp_path / "Maildir"), str(tmp_path / "archive.mbox"),
                 str(FIXTURES / "gmail_reply_en.eml"))

    assert capsys.readouterr().out.strip().endswith("1 ignored, 5 processed")
    assert set(Ticket.objects.values_list("subject", flat=True)) == {
        "Maildir 0", "Maildir 1", "Maildir 2", "Mbox one", "Re: Export fails"}
    assert {r.split(":")[0] for r in InboundEmail.objects.values_list("source_ref", flat=True)} == {"maildir", "mbox", "file"}

    call_command("ingest_email", str(tmp_path / "Maildir"))  # again: the same bytes are not stored twice
    assert capsys.readouterr().out.strip().endswith("3 duplicate")
    assert InboundEmail.objects.count() == 6
    with pytest.raises(CommandError):
        call_command("ingest_email", str(tmp_path / "missing.eml"))


@pytest.mark.django_db
def test_reprocess_email_retries_failed_mail_after_a_fix(mail_settings, monkeypatch, capsys):
    from helpdesk.services import inbound_email

    monkeypatch.setattr(inbound_email, "post_message", lambda **kw: 1 / 0)
    monkeypatch.setattr(inbound_email, "open_ticket", lambda **kw: 1 / 0)
    call_command("ingest_email", str(FIXTURES / "outlook_reply_de.eml"))
    row = InboundEmail.objects.get()
    assert row.state == "failed" and "ZeroDivisionError" in row.error

    monkeypatch.undo()
    call_command("reprocess_email", "--failed")

    assert capsys.readouterr().out.strip().endswith("1 processed")
    row.refresh_from_db()
    assert row.state == "processed" and row.attempts == 2
    with pytest.raises(CommandError):
        call_command("reprocess_email")
