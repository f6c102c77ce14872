"""IMAP polling against a real Dovecot: mail becomes a ticket, a threaded reply a message on it, and a
message is flagged only after it is stored, so a crash in between loses nothing."""

import imaplib
import ssl
import uuid

import pytest

from helpdesk import mail_tokens
from helpdesk.inbound import imap
from helpdesk.models import InboundEmail, Message, Ticket
from helpdesk.services.inbound_email import store_raw
from helpdesk.tasks_inbound import poll_imap
from tests.conftest import WorkerProcess, service_env, wait_until
from tests.dovecot_support import Dovecot
from tests.inbound_support import message


@pytest.fixture(scope="module")
def dovecot():
    server = Dovecot().start()
    yield server
    server.stop()


@pytest.fixture
def imap_worker(dovecot, django_db_blocker, tmp_path):
    from config.celery import app

    with django_db_blocker.unblock():
        env = service_env(HELPDESK_IMAP_URL=dovecot.url(folder="Worker"))
    app.control.purge()
    worker = WorkerProcess(tmp_path / "celery.log", env).start()
    yield worker
    worker.stop()


def _imap_settings(dovecot, **kwargs):
    return imap.ImapSettings.from_url(dovecot.url(**kwargs))


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_mail_delivered_to_imap_becomes_a_ticket_and_a_threaded_reply_a_message_on_it(dovecot, imap_worker):
    ana = f"ana-{uuid.uuid4().hex[:8]}@example.es"  # the hourly per-sender limit outlives test runs
    client = dovecot.client()
    client.create("Worker")
    client.logout()
    dovecot.deliver(message(sender=f"Ana Pérez <{ana}>", subject="No puedo pagar",
                            body="Hola, el pago con tarjeta falla siempre.", message_id="first.ana@example.es"),
                    folder="Worker")
    dovecot.deliver(message(headers={"Auto-Submitted": "auto-replied"}, subject="Fuera de la oficina"), folder="Worker")
    dovecot.deliver(message(sender="MAILER-DAEMON@mx.example.com", subject="Undelivered Mail Returned to Sender",
                            headers={"Return-Path": "<>"}), folder="Worker")

    poll_imap.delay()

    row = wait_until(lambda: InboundEmail.objects.filter(state="processed").first(), timeout=120,
                     message=f"the first mail processed\n{imap_worker.tail()}")
    ticket = Ticket.objects.get(pk=row.ticket_id)
    assert (ticket.subject, ticket.requester_email, ticket.channel) == ("No puedo pagar", ana, "email")
    assert ticket.language == "es"
    assert row.source == "imap" and row.source_ref.startswith("imap:Worker:")
    wait_until(lambda: InboundEmail.objects.filter(state="ignored").count() == 2, timeout=60,
               message="auto-reply and bounce screened")
    assert sorted(InboundEmail.objects.filter(state="ignored").values_list("reason", flat=True)) == ["auto_reply", "bounce"]
    assert Ticket.objects.count() == 1
    assert all(b"\\Seen" in flags for flags in [f if isinstance(f, bytes) else f[0] for f in dovecot.flags("Worker")])

    reply = Message.objects.create(ticket=ticket, author_kind="agent", body="¿Qué tarjeta usa?",
                                   email_message_id="out-1.k3j5@acme.test")
    dovecot.deliver(message(sender=f"Ana Pérez <{ana}>", to=mail_tokens.reply_address(ticket.pk),
                            subject="Re: No puedo pagar", body="Una Visa.\n\nEl lun, 3 mar 2025 a las 10:12, "
                            "Soporte escribió:\n> ¿Qué tarjeta usa?",
                            headers={"In-Reply-To": f"<{reply.email_message_id}>"}), folder="Worker")

    poll_imap.delay()

    wait_until(lambda: ticket.messages.count() == 3, timeout=120, message=f"the reply\n{imap_worker.tail()}")
    latest = ticket.messages.order_by("-id").first()
    assert (latest.author_kind, latest.body) == ("customer", "Una Visa.")
    assert Ticket.objects.count() == 1


@pytest.mark.django_db
def test_a_crash_after_storing_leaves_the_mail_unseen_and_the_next_poll_stores_it_once(dovecot):
    raw = message(subject="Crash test", message_id="crash@example.com")
    dovecot.deliver(raw, folder="INBOX")
    settings = _imap_settings(dovecot)

    def store_then_die(data, ref):
        store_raw(raw=data, source="imap", source_ref=ref, queue=False)
        raise OSError("worker killed")

    with pytest.raises(OSError):
        imap.poll(settings, store=store_then_die)
    assert InboundEmail.objects.filter(email_message_id="", size=len(raw)).count() == 1
    assert not any(b"\\Seen" in (f if isinstance(f, bytes) else f[0]) for f in dovecot.flags("INBOX"))

    stored = imap.poll(settings, store=lambda data, ref: store_raw(raw=data, source="imap", source_ref=ref, queue=False),
                       processed_folder="Stored")

    assert stored == 1
    assert InboundEmail.objects.filter(size=len(raw)).count() == 1  # same bytes: one row
    assert bytes(InboundEmail.objects.get(size=len(raw)).raw).replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")
    assert dovecot.count("Stored") == 1 and dovecot.count("INBOX") == 0


@pytest.mark.django_db
def test_the_poll_task_stores_nothing_from_a_server_whose_certificate_is_not_trusted(dovecot, settings, caplog):
    dovecot.deliver(message(subject="Untrusted"), folder="INBOX")
    settings.HELPDESK = {"IMAP_URL": dovecot.url(cafile="")}  # the system's CAs only

    assert poll_imap() == 0
    assert "IMAP poll of imap://desk@localhost" in caplog.text and "certificate verify failed" in caplog.text
    assert not InboundEmail.objects.exists()
    with pytest.raises(ssl.SSLCertVerificationError):
        imap.connect(_imap_settings(dovecot, cafile=""))


def test_wrong_credentials_are_an_imap_error_not_a_crash(dovecot):
    settings = imap.ImapSettings.from_url(dovecot.url().replace("w0rd", "wrong"))
    with pytest.raises(imaplib.IMAP4.error):
        imap.connect(settings)


def test_imap_urls_carry_tls_choices_and_encoded_credentials():
    s = imap.ImapSettings.from_url("imaps://help%40acme.test:p%40ss%20w@imap.example.com/Support%2FIn")
    assert (s.host, s.port, s.user, s.password, s.folder, s.ssl) == (
        "imap.example.com", 993, "help@acme.test", "p@ss w", "Support/In", True)
    s = imap.ImapSettings.from_url("imap://u:p@mail.local?starttls=0")
    assert (s.port, s.ssl, s.starttls, s.folder) == (143, False, False, "INBOX")
    with pytest.raises(ValueError):
        imap.ImapSettings.from_url("pop3://u:p@mail.local")


@pytest.mark.parametrize("url, polled", [("", False), ("imaps://u:p@imap.example.com/INBOX", True)])
def test_beat_polls_imap_only_when_it_is_configured(url, polled):
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; django.setup(); "
            "from django.conf import settings as s; print(s.CELERY_BEAT_SCHEDULE.get('poll-imap'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=service_env(HELPDESK_IMAP_URL=url,
                         HELPDESK_IMAP_POLL_SECONDS="30"), capture_output=True, text=True, check=True).stdout
    assert out.strip() == ("{'task': 'helpdesk.tasks_inbound.poll_imap', 'schedule': 30.0}" if polled else "None")
