"""The agent dashboard in Debian's Chromium: suggestions on a Spanish ticket, insert, feedback, metrics;
sign-in everywhere; admin-only actions out of an agent's reach; screenshots for people to look at."""

import re

import pytest
from playwright.sync_api import expect

from helpdesk.models import Message
from helpdesk.services.tickets import open_ticket, post_message
from tests.browser.conftest import DESKTOP, PHONE, sign_in
from tests.dashboard_support import PASSWORD, make_user
from tests.widget_support import load_kb

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def agent_user(db):
    return make_user("ana", "agent")


def test_agent_gets_spanish_suggestions_inserts_one_marks_it_helpful_and_acceptance_changes(
        page, live_server, agent_user):
    # The real default model: relevance for a Spanish ticket comes from lexical search over Spanish text.
    load_kb(keys=("reset-password", "track-order", "refund-timing", "return-item"), locales=("en", "es"))
    ticket = open_ticket(subject="No puedo entrar a mi cuenta", requester_email="lucia@example.es",
                         body="Olvidé mi contraseña y no puedo iniciar sesión. ¿Cómo restablezco la contraseña?")
    assert ticket.language == "es"
    sign_in(page, live_server, "ana", PASSWORD)

    page.goto(f"{live_server.url}/desk/metrics/")
    expect(page.get_by_test_id("acceptance-counts")).to_contain_text("0 of 0")

    page.goto(f"{live_server.url}/desk/tickets/{ticket.pk}/")
    first = page.locator(".suggestion").first
    expect(first.locator("h3")).to_have_text("Restablecer una contraseña olvidada")
    expect(first.locator(".meta code")).to_have_text("es")
    expect(first.locator(".meta")).to_contain_text("confidence")

    first.get_by_role("button", name="Insert into reply").click()
    expect(page.locator("#id_body")).to_have_value(
        re.compile(r"^Restablecer una contraseña olvidada\n\nSi ha olvidado .*\n\nhttp://\S+/help/articles/\d+/$", re.S))
    first.get_by_role("button", name=re.compile("^👍")).click()
    expect(page.locator(".suggestion").first.get_by_role("button", name=re.compile("^👍"))).to_have_attribute(
        "aria-pressed", "true")

    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".msg-agent .body")).to_contain_text("Restablecer una contraseña olvidada")
    assert ticket.messages.filter(author_kind=Message.Author.AGENT, author=agent_user).count() == 1

    page.goto(f"{live_server.url}/desk/metrics/")
    expect(page.get_by_test_id("acceptance-counts")).to_contain_text("1 of 1")
    expect(page.get_by_test_id("acceptance-rate")).to_have_text("100.0%")


def test_panel_refreshes_without_reload_when_the_customer_writes_again(page, live_server, agent_user):
    load_kb(keys=("reset-password", "track-order"), locales=("es",))
    ticket = open_ticket(subject="Contraseña", requester_email="lucia@example.es", language="es",
                         body="Olvidé mi contraseña, ¿cómo la restablezco?")
    sign_in(page, live_server, "ana", PASSWORD)
    page.goto(f"{live_server.url}/desk/tickets/{ticket.pk}/")
    expect(page.locator(".suggestion h3").first).to_have_text("Restablecer una contraseña olvidada")
    page.evaluate("window.__sameDocument = true")

    post_message(ticket=ticket, author_kind=Message.Author.CUSTOMER,
                 body="Ya entré, gracias. Ahora: ¿dónde está mi pedido? Quiero el seguimiento del paquete.")
    expect(page.locator(".suggestion h3").first).to_have_text("Seguimiento de su pedido", timeout=25_000)
    assert page.evaluate("window.__sameDocument") is True  # no full-page reload


DASHBOARD_PATHS = ["/desk/", "/desk/tickets/1/", "/desk/kb/", "/desk/kb/new/", "/desk/kb/coverage/", "/desk/kb/1/edit/",
                   "/desk/metrics/", "/desk/settings/"]


def test_anonymous_visitor_is_sent_to_sign_in_from_every_dashboard_page(page, live_server):
    for path in DASHBOARD_PATHS:
        page.goto(f"{live_server.url}{path}")
        assert page.url.startswith(f"{live_server.url}/accounts/login/?next="), path
        expect(page.locator("input[name=password]")).to_be_visible()


def test_agent_cannot_reach_admin_only_actions(page, live_server, agent_user):
    from helpdesk.models import Article
    from helpdesk.services.knowledge import save_article

    article = save_article(title="Draft", body="Text", locale="en")
    sign_in(page, live_server, "ana", PASSWORD)
    expect(page.get_by_role("link", name="Settings")).to_have_count(0)
    response = page.goto(f"{live_server.url}/desk/settings/")
    assert response.status == 403
    page.goto(f"{live_server.url}/desk/kb/{article.pk}/edit/")
    expect(page.get_by_role("button", name="Publish")).to_have_count(0)
    # A forged publish request from the agent's signed-in page is refused too.
    status = page.evaluate("""async (url) => {
        const token = document.querySelector('input[name=csrfmiddlewaretoken]').value;
        const r = await fetch(url, {method: 'POST', headers: {'X-CSRFToken': token,
              'Content-Type': 'application/x-www-form-urlencoded'}, body: 'status=published'});
        return r.status; }""", f"{live_server.url}/desk/kb/{article.pk}/status/")
    assert status == 403
    article.refresh_from_db()
    assert article.status == Article.Status.DRAFT


def test_screenshots_of_queue_ticket_rtl_kb_editor_and_metrics(browser, live_server, screenshot_dir, settings):
    from helpdesk.demo.history import generate_history
    from helpdesk.models import Article

    settings.HELPDESK = {**getattr(settings, "HELPDESK", {}), "ENCODER": "hashing"}
    kb = load_kb(keys=("reset-password", "track-order", "refund-timing", "return-item", "two-factor-codes"),
                 locales=("en", "es", "ar"))
    generate_history(weeks=6, seed=11)
    make_user("admin", "admin")
    arabic = open_ticket(subject="لم يصل طلبي بعد", requester_email="omar@example.ae", requester_name="عمر",
                         body="طلبت حذاءً قبل أسبوع ولم يصل طلبي بعد. كيف يمكنني تتبّع طلبي؟")
    editor = kb[("track-order", "es")]
    pages = [("queue", "/desk/", ".queue"), ("ticket-ar", f"/desk/tickets/{arabic.pk}/", ".suggestion"),
             ("kb-editor", f"/desk/kb/{editor.pk}/edit/?locale=es", ".side-by-side"),
             ("metrics", "/desk/metrics/?days=90", "#tickets-chart")]
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = browser.new_context(viewport=viewport, locale="en-US")
        page = context.new_page()
        sign_in(page, live_server, "admin", PASSWORD)
        for name, path, ready in pages:
            if name == "ticket-ar":
                page.goto(f"{live_server.url}{path}")
                with page.expect_navigation():
                    page.select_option("#ui-language", "ar")
                assert page.locator("html").get_attribute("dir") == "rtl"
            page.goto(f"{live_server.url}{path}")
            page.locator(ready).first.wait_for()
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(screenshot_dir / f"dashboard-{name}-{label}.png"), full_page=True)
            page.screenshot(path=str(screenshot_dir / f"dashboard-{name}-{label}-top.png"))
            if name == "metrics":
                page.locator(".gaps").screenshot(path=str(screenshot_dir / f"dashboard-metrics-gaps-{label}.png"))
            if name == "ticket-ar":
                with page.expect_navigation():
                    page.select_option("#ui-language", "en")
        context.close()
    assert Article.objects.filter(status=Article.Status.PUBLISHED).count() == 15


def test_admin_previews_the_threshold_before_saving_it(page, live_server):
    from helpdesk.models import DeskSettings, Event
    from helpdesk.services.widget import save_site, start_session

    make_user("boss", "admin")
    site = save_site(name="Shop", allowed_origins="https://shop.example.com")
    for i, best in enumerate((0.2, 0.5, 0.8)):  # three visitors' sessions, each one question
        session = start_session(site=site, visitor_id=f"v{i}", language="en")
        Event.objects.create(kind=Event.Kind.QUERY, widget_session=session, data={"text": "refund"})
        Event.objects.create(kind=Event.Kind.NO_ANSWER, widget_session=session,
                             data={"text": "refund", "best_confidence": best})
    sign_in(page, live_server, "boss", PASSWORD, next_path="/desk/settings/")
    preview = page.get_by_test_id("threshold-preview")
    expect(preview).to_contain_text("of the 3 widget sessions with a question")
    expect(preview).to_contain_text("counted as on the metrics page")
    page.fill("#id_confidence_threshold", "0.6")
    expect(preview).to_contain_text("At 0.60")
    expect(preview).to_contain_text("1 would show suggestions and 2 would say there is no good answer")
    # An invalid value: the figures of 0.60 must not stay on screen as if they were 1.5's.
    page.fill("#id_confidence_threshold", "1.5")
    expect(preview).to_contain_text("Enter a number between 0 and 1")
    expect(preview).not_to_contain_text("would show suggestions")
    page.fill("#id_confidence_threshold", "0.6")
    expect(preview).to_contain_text("1 would show suggestions")
    assert not DeskSettings.objects.exists()  # previewing saves nothing
    page.get_by_role("button", name="Save threshold").click()
    expect(page.locator(".messages")).to_contain_text("Confidence threshold saved.")
    assert DeskSettings.objects.get(pk=1).confidence_threshold == 0.6
