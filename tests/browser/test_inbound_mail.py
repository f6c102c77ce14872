"""The admin's Inbound mail page in Debian's Chromium: a message the desk could not process is listed with
its error, the admin opens it, presses Re-process once the cause is gone, and the mail becomes a ticket."""

import pytest
from playwright.sync_api import expect

from helpdesk.models import InboundEmail, Ticket
from helpdesk.services.inbound_email import process_inbound, store_raw
from tests.browser.conftest import sign_in
from tests.dashboard_support import PASSWORD, make_user
from tests.inbound_support import mail_settings, message, refuse  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_sees_a_failed_message_with_its_error_and_reprocesses_it(page, live_server, mail_settings, refuse):
    make_user("olga", "admin")
    # PostgreSQL refuses new tickets (a maintenance window, a full disk): the mail is kept, as failed.
    refuse(Ticket._meta.db_table, "TG_OP = 'INSERT'", "tickets are read-only during maintenance")
    row, _ = store_raw(raw=message(sender="Sofía Pérez <sofia@example.mx>", subject="Factura duplicada",
                                   body="Hola, me cobraron dos veces la factura 8812. ¿Pueden reembolsar un cargo?"),
                       source="imap", source_ref="imap:INBOX:7:42", queue=False)
    assert process_inbound(row.pk).state == "failed"
    refuse.drop()

    sign_in(page, live_server, "olga", PASSWORD)
    page.get_by_role("link", name="Inbound mail").click()
    failed = page.locator("tr.state-failed").filter(has_text="Factura duplicada")
    expect(failed).to_contain_text("sofia@example.mx")
    expect(failed.locator("code.error")).to_contain_text("tickets are read-only during maintenance")

    failed.get_by_role("link", name="Factura duplicada").click()
    expect(page.locator("pre.error")).to_contain_text("tickets are read-only during maintenance")
    expect(page.locator(".inbound-detail")).to_contain_text("imap:INBOX:7:42")
    expect(page.locator("pre.mail-text")).to_contain_text("me cobraron dos veces")
    page.get_by_role("button", name="Re-process").click()

    ticket = Ticket.objects.get(requester_email="sofia@example.mx")
    expect(page.locator(".messages")).to_contain_text(f"Processed: ticket #{ticket.pk}.")
    expect(page.get_by_role("button", name="Re-process")).to_have_count(0)
    assert InboundEmail.objects.get(pk=row.pk).state == "processed"
    page.locator(".inbound-detail").get_by_role("link", name=f"#{ticket.pk}").click()
    expect(page.locator("body")).to_contain_text("me cobraron dos veces la factura 8812")
    page.wait_for_load_state("networkidle")  # the ticket page's own requests end before the database is reset

    page.goto(f"{live_server.url}/desk/email/inbound-mail/")
    expect(page.locator("tr.state-failed")).to_have_count(0)  # nothing left to look at
    expect(page.locator("tr.state-processed")).to_have_count(0)  # the default view lists problems only
    page.wait_for_load_state("networkidle")
