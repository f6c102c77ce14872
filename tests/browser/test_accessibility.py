"""Accessibility and phone layout as measured properties of every page a person reaches.

- axe-core (the npm package, from disk) finds no serious or critical violation on any dashboard page,
  the public article page, the sign-in page or the open widget in each of its views;
- at 390 px (a phone) no page is wider than the viewport: agent, admin, public and the widget's host;
- an agent works a ticket from the queue to a sent reply with the keyboard alone, seeing where focus is.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from helpdesk.models import Message
from tests.browser.a11y_support import overflow, serious_violations, with_axe
from tests.browser.conftest import DESKTOP, PHONE, sign_in
from tests.browser.test_widget import host  # noqa: F401  (fixture: the customer's page on another origin)
from tests.dashboard_support import PASSWORD, make_user
from tests.widget_support import load_kb

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IMPORT_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"


@pytest.fixture
def desk(settings, tmp_path):
    """A desk with something on every page: articles in three languages (one outdated translation, one
    pending revision), tickets with suggestions, an import with problems, a widget site, inbound mail."""
    from helpdesk import tasks
    from helpdesk.models import Article
    from helpdesk.services.imports import run_import, start_import
    from helpdesk.services.inbound_email import process_inbound, store_raw
    from helpdesk.services.knowledge import save_article
    from helpdesk.services.revisions import propose_revision
    from helpdesk.services.tickets import open_ticket
    from helpdesk.services.widget import save_site
    from tests.inbound_support import message

    settings.HELPDESK = {**getattr(settings, "HELPDESK", {}), "ENCODER": "hashing",
                         "MAIL_CAPTURE_DIR": str(tmp_path / "mail"), "INBOUND_SENDER_LIMIT": 10_000,
                         "CONFIDENCE_THRESHOLD": 0.01}  # the stand-in encoder's confidences are low
    settings.MEDIA_ROOT = tmp_path / "media"
    kb = load_kb(keys=("reset-password", "track-order", "refund-timing"),
                 locales=("en", "es", "fr", "de", "pt", "ar", "ja"))
    # English only: a German ticket's panel marks it with its language and the metrics page counts it.
    load_kb(keys=("two-factor-codes",), locales=("en",))
    admin = make_user("boss", "admin")
    make_user("ana", "agent")
    german = open_ticket(subject="Der Zwei-Faktor-Code kommt nicht an", requester_email="jonas@example.de",
                         requester_name="Jonas Weber", body="Ich bekomme keinen Code per SMS, und der Code aus der "
                                                            "Authenticator-App wird abgelehnt. Was kann ich tun?")
    spanish = open_ticket(subject="No puedo entrar a mi cuenta", requester_email="lucia@example.es",
                          requester_name="Lucía Fernández",
                          body="Olvidé mi contraseña y no puedo iniciar sesión. ¿Cómo restablezco la contraseña?")
    arabic = open_ticket(subject="لم يصل طلبي بعد", requester_email="omar@example.ae", requester_name="عمر",
                         body="طلبت حذاءً قبل أسبوع ولم يصل طلبي بعد. كيف يمكنني تتبّع طلبي؟")
    for ticket in (german, spanish, arabic):
        tasks.suggest_for_ticket(ticket.pk)
    english = kb[("track-order", "en")]
    save_article(title=english.title, body=english.body + "\n\nParcels abroad take longer.", locale="en",
                 article=english, status=Article.Status.PUBLISHED)
    revision = propose_revision(article=kb[("refund-timing", "en")], title="Refund timing",
                                body="Refunds reach your card within five working days.", locale="en",
                                category="billing", author=admin)
    job = start_import(files=[(name, (IMPORT_FIXTURES / name).read_bytes())
                              for name in ("broken/bad_row.csv", "broken/setup.md", "markdown/en/track-order.md")],
                       user=admin, queue=False)
    run_import(job_id=job.id)
    site = save_site(name="Northwind Shop with a long name for its site",
                     allowed_origins="https://shop.example.com\n"
                                     "https://www.northwind-shop-with-a-long-domain.example.com",
                     default_locale="en")
    inbound, _ = store_raw(raw=message(subject="Printer offline"), source="imap", source_ref="imap:INBOX:1:7",
                           queue=False)
    process_inbound(inbound.pk)
    held, _ = store_raw(raw=message(subject="Automatic reply: out of the office until Monday",
                                    sender="Very Long Sender Name <a.very.long.address.for.a.sender@subsidiary.example.com>",
                                    headers={"Auto-Submitted": "auto-replied"}),
                        source="imap", source_ref="imap:INBOX:1:8", queue=False)
    process_inbound(held.pk)  # held back: listed under "problems"
    return {"spanish": spanish, "arabic": arabic, "german": german, "article": kb[("reset-password", "es")],
            "arabic_article": kb[("track-order", "ar")], "revision": revision, "job": job, "site": site,
            "inbound": inbound}


def signed_in_pages(desk, *, right_to_left: bool = False) -> list[tuple[str, str]]:
    """Every dashboard page (admins see them all); `right_to_left`: a sample to check in the Arabic UI."""
    if right_to_left:
        return [(name, path) for name, path in signed_in_pages(desk) if name in RIGHT_TO_LEFT_SAMPLE]
    article = desk["article"]
    return [
        ("queue", "/desk/"), ("ticket", f"/desk/tickets/{desk['spanish'].pk}/"),
        ("ticket-ar", f"/desk/tickets/{desk['arabic'].pk}/"),
        ("ticket-other-language", f"/desk/tickets/{desk['german'].pk}/"),  # a suggestion marked "English"
        ("kb", "/desk/kb/"), ("kb-new", "/desk/kb/new/"), ("kb-coverage", "/desk/kb/coverage/"),
        ("kb-article", f"/desk/kb/{article.pk}/"), ("kb-edit", f"/desk/kb/{article.pk}/edit/"),
        ("kb-edit-translation", f"/desk/kb/{article.pk}/edit/?locale=de"),
        ("kb-revisions", "/desk/kb/revisions/"), ("kb-revision", f"/desk/kb/revisions/{desk['revision'].pk}/"),
        ("metrics", "/desk/metrics/"), ("settings", "/desk/settings/"),
        ("import", "/desk/kb/import/"), ("import-detail", f"/desk/kb/import/{desk['job'].pk}/"),
        ("widget-sites", "/desk/widget-sites/"), ("widget-site-new", "/desk/widget-sites/new/"),
        ("widget-site", f"/desk/widget-sites/{desk['site'].pk}/"),
        ("outbox", "/desk/outbox/"), ("inbound-mail", "/desk/email/inbound-mail/"),
        ("inbound-mail-detail", f"/desk/email/inbound-mail/{desk['inbound'].pk}/"),
    ]


RIGHT_TO_LEFT_SAMPLE = ("queue", "ticket", "kb-coverage", "metrics", "import-detail", "widget-site")


def in_arabic(page):
    """Switch the dashboard's own language to Arabic (right to left) through its language menu."""
    with page.expect_navigation():
        page.select_option("#ui-language", "ar")
    assert page.locator("html").get_attribute("dir") == "rtl"


def public_pages(desk) -> list[tuple[str, str]]:
    return [("sign-in", "/accounts/login/"), ("public-article", f"/help/articles/{desk['article'].pk}/"),
            ("public-article-ar", f"/help/articles/{desk['arabic_article'].pk}/")]


def visit(page, url, status=200):
    response = page.goto(url)
    assert response.status == status, f"{url}: {response.status}"
    page.wait_for_load_state("networkidle")


def widget_views(page, url):
    """Open the widget on the customer's page and walk its views; yields the name of each as it shows."""
    page.goto(url)
    page.get_by_role("button", name="Help", exact=True).click()
    yield "widget-open"
    page.locator("#pd-q").fill("How do I track my order?")
    page.locator("#pd-q").press("Enter")
    page.locator("#pd-results .result").first.wait_for()
    yield "widget-results"
    page.locator("#pd-results .result").first.click()
    page.locator("#pd-article-title").wait_for()
    yield "widget-article"
    page.get_by_role("button", name="No", exact=True).click()
    page.locator("#pd-email").wait_for()
    yield "widget-ticket-form"


def visit_every_page(page, live_server, desk, host, check, *, check_widget=lambda name: None):
    """Call check(name) on every public page, the 404 page, every signed-in page (English and the Arabic
    UI) and each view of the open widget, where check_widget(name) follows it."""
    for name, path in public_pages(desk):
        visit(page, live_server.url + path)
        check(name)
    visit(page, live_server.url + "/help/articles/999999/", status=404)  # the desk's own "not found" page
    check("not-found")
    sign_in(page, live_server, "boss", PASSWORD)
    for name, path in signed_in_pages(desk):
        visit(page, live_server.url + path)
        check(name)
    in_arabic(page)
    for name, path in signed_in_pages(desk, right_to_left=True):
        visit(page, live_server.url + path)
        check(name + "-ar-ui")
    for name in widget_views(page, host()):
        check(name)
        check_widget(name)


def test_no_page_has_a_serious_or_critical_axe_violation(browser, live_server, desk, host,  # noqa: F811
                                                          screenshot_dir):
    context = with_axe(browser.new_context(viewport=DESKTOP, locale="en-US"))
    page = context.new_page()
    found = {}

    def check(name):
        found[name] = serious_violations(page)
        page.screenshot(path=str(screenshot_dir / f"{name}-1366.png"), full_page=True)

    visit_every_page(page, live_server, desk, host, check)
    context.close()
    failing = {name: lines for name, lines in found.items() if lines}
    assert not failing, "\n".join(f"{name}:\n  " + "\n  ".join(lines) for name, lines in failing.items())


def test_no_page_is_wider_than_a_phone(browser, live_server, desk, host, screenshot_dir):  # noqa: F811
    context = browser.new_context(viewport=PHONE, locale="en-US", is_mobile=True, has_touch=True)
    page = context.new_page()
    widths = {}

    def check(name):
        widths[name] = overflow(page)
        page.screenshot(path=str(screenshot_dir / f"{name}-390.png"), full_page=True)

    def panel_inside_the_screen(name):
        panel = page.locator(".panel").bounding_box()
        assert 0 <= panel["x"] and panel["x"] + panel["width"] <= PHONE["width"], name

    visit_every_page(page, live_server, desk, host, check, check_widget=panel_inside_the_screen)
    context.close()
    too_wide = {name: found for name, found in widths.items() if found}
    assert not too_wide, "\n".join(f"{name}: {found}" for name, found in too_wide.items())


def test_an_agent_answers_a_ticket_from_the_queue_with_the_keyboard_alone(page, live_server, desk, screenshot_dir):
    ticket = desk["spanish"]
    focused = "document.activeElement"

    def tab_to(predicate_js: str, *, limit: int = 60) -> int:
        """Press Tab until the focused element matches; every stop must show where focus is."""
        for presses in range(1, limit + 1):
            page.keyboard.press("Tab")
            ring = page.evaluate(f"""() => {{ const e = {focused}; const s = getComputedStyle(e);
                return e.matches(':focus-visible') && (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2
                       || s.boxShadow !== 'none'); }}""")
            label = page.evaluate(f"{focused}.outerHTML.slice(0, 120)")
            assert ring, f"no visible focus on {label}"
            if page.evaluate(f"(e => {predicate_js})({focused})"):
                return presses
        raise AssertionError(f"Tab never reached {predicate_js}")

    page.goto(f"{live_server.url}/desk/")  # → the sign-in page, signed in from the keyboard too
    if page.evaluate(f"{focused}.name") != "username":  # Django's form autofocuses it
        tab_to("e.name === 'username'")
    page.keyboard.type("ana")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{live_server.url}/desk/"

    # A skip link first, so the queue is a few presses away rather than behind the whole navigation.
    page.keyboard.press("Tab")
    assert page.evaluate(f"{focused}.getAttribute('href')") == "#main"
    page.keyboard.press("Enter")
    presses = tab_to(f"e.tagName === 'A' && e.textContent.trim() === {ticket.subject!r}")
    page.screenshot(path=str(screenshot_dir / "keyboard-focus-in-queue-1366.png"))
    assert presses <= 12, f"{presses} presses from the skip link to the first ticket"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(f"/desk/tickets/{ticket.pk}/")

    expect(page.locator(".suggestion").first).to_be_visible()
    tab_to("e.classList.contains('insert')", limit=80)
    page.screenshot(path=str(screenshot_dir / "keyboard-focus-on-insert-1366.png"))
    page.keyboard.press("Enter")
    reply = page.locator("#id_body")
    expect(reply).to_be_focused()  # the inserted answer is where the agent types next
    expect(reply).not_to_have_value("")
    page.keyboard.press("Control+End")
    page.keyboard.type("\n\nUn saludo, Ana")
    tab_to("e.type === 'submit' && e.closest('#reply-form') !== null", limit=3)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    sent = ticket.messages.get(author_kind=Message.Author.AGENT)
    assert sent.body.endswith("Un saludo, Ana") and sent.visibility == "public"
    expect(page.locator(".msg-agent .body").last).to_contain_text("Un saludo, Ana")


def test_browsing_the_language_menu_with_arrow_keys_does_not_reload_the_page(page, live_server, desk):
    sign_in(page, live_server, "ana", PASSWORD)
    page.evaluate("window.__samePage = true")
    menu = page.locator("#ui-language")
    menu.focus()
    page.keyboard.press("ArrowDown")  # Chromium changes a closed menu's value at once and fires "change"
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(700)
    assert page.evaluate("window.__samePage") is True  # still the same document: nothing was submitted
    chosen = menu.input_value()
    assert chosen != "en"
    with page.expect_navigation():
        page.keyboard.press("Enter")  # the keyboard user's choice, submitted when they confirm it
    assert page.locator("html").get_attribute("lang") == chosen
    with page.expect_navigation():
        page.select_option("#ui-language", "en")  # with a pointer, choosing is confirming
    assert page.locator("html").get_attribute("lang") == "en"
