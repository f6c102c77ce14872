"""What a support lead used to Zendesk, Freshdesk or Intercom expects, in Chromium: the inserted
answer reads as written, the customer who just wrote is on the first page, and a site's widget key
is never rotated or revoked by one stray click."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from helpdesk.models import Ticket, WidgetSite
from helpdesk.services.tickets import open_ticket
from helpdesk.services.widget import save_site
from helpdesk.summaries import summary
from tests.browser.conftest import PHONE, sign_in
from tests.dashboard_support import PASSWORD, make_user
from tests.widget_support import load_kb

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_insert_into_reply_puts_the_whole_summary_and_the_public_link_in_the_reply(page, live_server):
    articles = load_kb(keys=("reset-password", "track-order"), locales=("es",))
    make_user("ana", "agent")
    ticket = open_ticket(subject="No puedo entrar", requester_email="lucia@example.es", language="es",
                         body="Olvidé mi contraseña y no puedo iniciar sesión. ¿Cómo restablezco la contraseña?")
    article = articles[("reset-password", "es")]
    sign_in(page, live_server, "ana", PASSWORD)
    page.goto(f"{live_server.url}/desk/tickets/{ticket.pk}/")
    first = page.locator(".suggestion").first
    expect(first.locator("h3")).to_have_text(article.title)
    first.get_by_role("button", name="Insert into reply").click()

    expected = f"{article.title}\n\n{summary(article.body)}\n\n{live_server.url}/help/articles/{article.pk}/"
    expect(page.locator("#id_body")).to_have_value(expected)
    inserted = page.locator("#id_body").input_value()
    # Whole sentences and the numbered steps, not ~45 words cut mid-sentence; never the agents' KB page.
    assert "1. En la página de inicio de sesión" in inserted and "4. Introduzca una nueva contraseña" in inserted
    assert "…" not in inserted and "/desk/kb/" not in inserted

    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".msg-agent .body")).to_contain_text("4. Introduzca una nueva contraseña")
    customer_view = page.context.new_page()
    customer_view.context.clear_cookies()
    customer_view.goto(f"{live_server.url}/help/articles/{article.pk}/")
    expect(customer_view.locator("h1")).to_have_text(article.title)


def test_the_queue_shows_the_newest_widget_ticket_on_page_one(page, live_server):
    make_user("ana", "agent")
    now = timezone.now()
    for i in range(30):  # more older, urgent tickets than a page holds
        open_ticket(subject=f"Older question {i}", requester_email=f"c{i}@example.com", body="Where is my parcel?",
                    priority=Ticket.Priority.URGENT, at=now - timedelta(days=2, minutes=i))
    origin = "https://shop.example.com"
    site = save_site(name="Shop", allowed_origins=origin)
    # Filed through the widget's own API, as the widget on a customer's page does it.
    api = f"{live_server.url}/desk/widget/v1/{site.key}"
    session = page.request.post(f"{api}/sessions/", data={}, headers={"Origin": origin}).json()["session"]
    filed = page.request.post(f"{api}/tickets/", headers={"Origin": origin}, data={
        "session": session, "email": "lucia@example.es", "name": "Lucía",
        "message": "Mi pedido llegó roto, ¿qué hago ahora?"})
    assert filed.status == 201

    sign_in(page, live_server, "ana", PASSWORD)
    page.goto(f"{live_server.url}/desk/")
    rows = page.locator("table.queue tbody tr")
    expect(rows.first).to_contain_text("Mi pedido llegó roto")
    expect(rows.first).to_contain_text("Lucía")
    expect(page.locator(".pagination")).to_contain_text("Page 1 of 2")
    expect(page.get_by_label("Sort")).to_have_value("attention")

    page.goto(f"{live_server.url}/desk/tickets/{Ticket.objects.get(channel='widget').pk}/")
    expect(page.get_by_label("Assignee").locator("option:checked")).to_have_text("Unassigned")


def test_rotating_and_revoking_a_key_ask_first_and_cancel_changes_nothing(page, live_server):
    make_user("boss", "admin")
    site = save_site(name="Shop", allowed_origins="https://shop.example.com")
    old = site.key
    sign_in(page, live_server, "boss", PASSWORD)
    page.goto(f"{live_server.url}/desk/widget-sites/{site.pk}/")
    expect(page.locator("#embed-code").locator("xpath=preceding-sibling::p[1]")).to_contain_text("just before </body>:")

    # Revoke: a dialog asks; Cancel leaves the key working.
    page.get_by_role("link", name="Revoke key…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("The widget stops answering on Shop at once")
    dialog.get_by_role("link", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert WidgetSite.objects.get(pk=site.pk).revoked_at is None

    # Rotate: the dialog offers a grace period for the old key (24 hours unless changed).
    page.get_by_role("link", name="Rotate key…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("The old key keeps working for")).to_have_value("24")
    dialog.get_by_role("button", name="Rotate key").click()
    expect(page.locator(".messages")).to_contain_text("The old key keeps working until")
    site.refresh_from_db()
    assert site.key != old and site.previous_key == old
    expect(page.locator("#site-key")).to_have_text(site.key)
    expect(page.locator("#previous-key-state")).to_contain_text(old)

    # Revoke for real: confirmed in the dialog, the old and the new key both stop.
    page.get_by_role("link", name="Revoke key…").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke key").click()
    expect(page.locator("#key-state")).to_contain_text("Revoked on")
    site.refresh_from_db()
    assert site.is_revoked and site.previous_key == ""


def test_without_javascript_the_key_actions_lead_to_a_confirmation_page(browser, live_server):
    make_user("boss", "admin")
    site = save_site(name="Shop", allowed_origins="https://shop.example.com")
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/?next=/desk/widget-sites/{site.pk}/")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign in").click()  # without JS the language menu has a submit button too
    page.get_by_role("link", name="Revoke key…").click()
    expect(page).to_have_url(re.compile(rf"/desk/widget-sites/{site.pk}/revoke/$"))
    expect(page.get_by_role("heading", name="Revoke this site's key?")).to_be_visible()
    assert WidgetSite.objects.get(pk=site.pk).revoked_at is None
    page.get_by_role("button", name="Revoke key").click()
    expect(page.locator("#key-state")).to_contain_text("Revoked on")
    context.close()


def test_unpublishing_an_article_asks_first_and_dismissing_keeps_it_published(page, live_server):
    from helpdesk.models import Article
    from helpdesk.services.knowledge import save_article

    make_user("boss", "admin")
    article = save_article(title="Gift cards", body="Gift cards never expire.", locale="en",
                           status=Article.Status.PUBLISHED)
    sign_in(page, live_server, "boss", PASSWORD)
    page.goto(f"{live_server.url}/desk/kb/{article.pk}/edit/")
    asked = []

    def answer(dialog, accept):
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda d: answer(d, False))
    page.get_by_role("button", name="Unpublish").click()
    page.wait_for_timeout(500)
    assert asked == ["Unpublish this article? Customers and the widget stop seeing it at once."]
    assert Article.objects.get(pk=article.pk).status == "published"

    page.once("dialog", lambda d: answer(d, True))
    page.get_by_role("button", name="Unpublish").click()
    expect(page.get_by_role("button", name="Publish")).to_be_visible()
    assert Article.objects.get(pk=article.pk).status == "draft"


def test_the_key_dialogs_and_the_confirmation_page_pass_axe_and_fit_a_phone(browser, live_server):
    from tests.browser.a11y_support import serious_violations, with_axe

    make_user("boss", "admin")
    site = save_site(name="Shop", allowed_origins="https://shop.example.com")
    for viewport in ({"width": 1366, "height": 768}, PHONE):
        context = with_axe(browser.new_context(viewport=viewport))
        page = context.new_page()
        sign_in(page, live_server, "boss", PASSWORD)
        page.goto(f"{live_server.url}/desk/widget-sites/{site.pk}/")
        for opener in ("Rotate key…", "Revoke key…"):
            page.get_by_role("link", name=opener).click()
            expect(page.get_by_role("dialog")).to_be_visible()
            assert serious_violations(page) == [], opener
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
            page.keyboard.press("Escape")
            expect(page.get_by_role("dialog")).to_be_hidden()
        for action in ("rotate", "revoke"):
            page.goto(f"{live_server.url}/desk/widget-sites/{site.pk}/{action}/")
            assert serious_violations(page) == [], action
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        context.close()
    assert WidgetSite.objects.get(pk=site.pk).key == site.key  # looking changed nothing
