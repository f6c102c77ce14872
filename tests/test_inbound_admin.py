"""Admins see failed and ignored inbound mail with its error and can process it again; agents download
attachments from the ticket, privately."""

import pytest
from django.test import Client

from helpdesk.models import InboundEmail, Ticket
from helpdesk.services.inbound_email import process_inbound, store_raw
from tests.dashboard_support import make_user
from tests.inbound_support import FIXTURES, mail_settings, message  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def ingest(raw: bytes) -> InboundEmail:
    row, _ = store_raw(raw=raw, source="imap", source_ref="imap:INBOX:1:7", queue=False)
    return process_inbound(row.pk)


def signed_in(role: str) -> Client:
    client = Client()
    client.force_login(make_user(role, role))
    return client


def test_admins_see_failed_and_ignored_mail_with_why_and_can_process_it_anyway(mail_settings, monkeypatch):
    from helpdesk.services import inbound_email

    monkeypatch.setattr(inbound_email, "open_ticket", lambda **kw: (_ for _ in ()).throw(ValueError("disk full")))
    failed = ingest(message(subject="Lost invoice"))
    monkeypatch.undo()
    ignored = ingest(message(subject="Out of office", headers={"X-Autoreply": "yes"}, sender="Ola <ola@example.no>"))
    fine = ingest(message(subject="All good"))
    admin = signed_in("admin")

    page = admin.get("/desk/email/inbound-mail/").content.decode()

    assert "Lost invoice" in page and "ValueError: disk full" in page
    assert "Out of office" in page and "Automatic reply" in page and "Process anyway" in page
    assert "All good" not in page  # processed mail is not a problem
    # Filters and counts in words, not the database's keys ("problems", "processed: 1").
    assert '<strong aria-current="page">Problems</strong>' in page and ">Ignored</a>" in page
    assert "Processed: 1" in page and "processed: 1" not in page
    assert "All good" in admin.get("/desk/email/inbound-mail/?show=all").content.decode()
    detail = admin.get(f"/desk/email/inbound-mail/{failed.pk}/").content.decode()
    assert "ValueError: disk full" in detail and "imap:INBOX:1:7" in detail
    raw = admin.get(f"/desk/email/inbound-mail/{failed.pk}/raw/")
    assert raw["Content-Type"] == "message/rfc822" and raw.content == bytes(failed.raw)

    response = admin.post(f"/desk/email/inbound-mail/{failed.pk}/reprocess/")
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.state == "processed" and Ticket.objects.get(pk=failed.ticket_id).subject == "Lost invoice"

    admin.post(f"/desk/email/inbound-mail/{ignored.pk}/reprocess/")
    ignored.refresh_from_db()
    assert ignored.state == "processed" and Ticket.objects.filter(requester_email="ola@example.no").count() == 1
    admin.post(f"/desk/email/inbound-mail/{ignored.pk}/reprocess/")  # twice: no second message
    assert Ticket.objects.get(requester_email="ola@example.no").messages.count() == 1
    assert fine.pk  # untouched


def test_agents_cannot_see_the_inbound_mail_pages(mail_settings):
    row = ingest(message(headers={"Precedence": "bulk"}))
    agent = signed_in("agent")
    for url in ("/desk/email/inbound-mail/", f"/desk/email/inbound-mail/{row.pk}/", f"/desk/email/inbound-mail/{row.pk}/raw/"):
        assert agent.get(url).status_code == 403
    assert agent.post(f"/desk/email/inbound-mail/{row.pk}/reprocess/").status_code == 403
    assert InboundEmail.objects.get(pk=row.pk).state == "ignored"
    assert Client().get("/desk/email/inbound-mail/").status_code == 302  # to sign-in


def test_attachments_are_links_on_the_ticket_and_download_privately(mail_settings):
    row = ingest((FIXTURES / "attachments_pdf_png.eml").read_bytes())
    refused = ingest((FIXTURES / "attachment_exe_refused.eml").read_bytes())
    agent = signed_in("agent")

    page = agent.get(f"/desk/tickets/{row.ticket_id}/").content.decode()
    pdf = row.message.attachments.get(filename="invoice-2025-03.pdf")
    assert f'href="/desk/attachments/{pdf.pk}/"' in page and "invoice-2025-03.pdf" in page

    response = agent.get(f"/desk/attachments/{pdf.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF-1.4")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith('attachment; filename="invoice-2025-03.pdf"')
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Content-Type-Options"] == "nosniff"

    exe = refused.message.attachments.get()
    assert "setup.exe" in agent.get(f"/desk/tickets/{refused.ticket_id}/").content.decode()
    assert f"/desk/attachments/{exe.pk}/" not in agent.get(f"/desk/tickets/{refused.ticket_id}/").content.decode()
    assert agent.get(f"/desk/attachments/{exe.pk}/").status_code == 404
    assert Client().get(f"/desk/attachments/{pdf.pk}/").status_code == 302  # anonymous: sign in first
