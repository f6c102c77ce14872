"""The widget in Chromium, embedded in a customer page served from another origin than the desk.

The desk runs on pytest-django's live server (http://localhost:PORT); the customer page is served by
the `widget_demo_host` server on http://127.0.0.1:OTHER — a different origin, so CORS is real.
"""

import pytest
from django.contrib.auth.models import Permission, User
from playwright.sync_api import expect

from helpdesk.management.commands.widget_demo_host import host_page, make_server, serve_in_thread
from helpdesk.models import Event, Ticket, WidgetSession
from helpdesk.selectors import metrics
from helpdesk.services.widget import save_site
from tests.browser.conftest import PHONE, sign_in
from tests.widget_support import load_kb

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOSTILE_CSS = """
* { all: unset !important; font-size: 2px !important; line-height: 0 !important; color: #f0f !important;
    position: static !important; letter-spacing: 9px !important; visibility: hidden; }
div, section, button, input, ul, li, p, h2, h3, form, article, label { display: none !important; }
html, body, main, header, h1 { display: block !important; }
html, body { visibility: visible !important; }
body { direction: rtl !important; writing-mode: vertical-lr !important; text-transform: uppercase !important; }
"""


@pytest.fixture
def kb(transactional_db):
    return load_kb()


@pytest.fixture
def host(live_server, transactional_db):
    """Start the customer page; yields a function (extra_css="") → the page URL with the widget embedded."""
    server = make_server()
    serve_in_thread(server)
    origin = f"http://127.0.0.1:{server.server_port}"
    site = save_site(name="Northwind Shop", allowed_origins=origin, default_locale="en")

    def page_url(extra_css: str = "") -> str:
        server.page_html = host_page(api=live_server.url, key=site.key, extra_css=extra_css)
        return origin + "/"

    page_url.site = site
    page_url.server = server
    yield page_url
    server.shutdown()
    server.server_close()


def open_widget(page, url, *, launcher="Help"):
    page.goto(url)
    page.get_by_role("button", name=launcher, exact=True).click()
    return page.locator("#pd-q")


def ask(page, text):
    box = page.locator("#pd-q")
    box.fill(text)
    box.press("Enter")


def staff(username, *codenames):
    user = User.objects.create_user(username, password="a-long-test-password")
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def test_ask_in_spanish_open_the_spanish_article_say_yes_and_it_counts_as_deflected(page, live_server, host, kb,
                                                                                       screenshot_dir):
    url = host()
    open_widget(page, url)
    assert page.evaluate("location.origin") != live_server.url  # the widget really is cross-origin

    page.locator("#pd-q").type("¿Cómo restablezco mi contraseña olvidada?", delay=5)
    spanish = kb[("reset-password", "es")]
    # Suggestions appear while typing (debounced), before anything is asked.
    page.locator(".result .title", has_text=spanish.title).first.wait_for()
    assert not Event.objects.exists()

    page.locator("#pd-q").press("Enter")
    page.get_by_role("button", name="Buscar").wait_for()  # the UI switched to the question's language
    first = page.locator("#pd-results .result").first
    assert first.locator(".title").inner_text() == spanish.title
    assert "encontrado" in page.locator("#pd-status").inner_text()

    first.click()
    heading = page.locator("#pd-article-title")
    assert heading.inner_text() == spanish.title
    assert page.evaluate("document.querySelector('polyglot-desk-widget').shadowRoot.activeElement.id") == \
        "pd-article-title"
    paragraphs = [p.strip() for p in spanish.body.split("\n\n") if p.strip()]
    assert page.locator(".article .text p").all_inner_texts() == paragraphs
    page.get_by_role("group", name="¿Respondió esto a tu pregunta?").get_by_role("button", name="Sí").click()
    page.get_by_text("¡Genial! Nos alegra haberte ayudado.").wait_for()
    page.screenshot(path=screenshot_dir / "widget-spanish-deflected.png")

    kinds = list(Event.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == ["query", "suggestions_shown", "article_opened", "vote_helpful"]
    session = WidgetSession.objects.get()
    assert len(session.visitor_id) >= 16  # a stable id for this browser, so later tickets can cancel deflection
    assert session.language == "en-US"

    # The metrics page counts the session as deflected (explicitly), in Spanish.
    staff("admin", "view_metrics", "view_ticket")
    metrics_page = page.context.new_page()
    sign_in(metrics_page, live_server, "admin", "a-long-test-password", next_path="/desk/metrics/")
    assert metrics_page.locator("#explicit-deflection .counts").inner_text().startswith("1 sessions said")
    assert "of 1 with a query" in metrics_page.locator("#explicit-deflection .counts").inner_text()
    assert metrics_page.locator("#deflection-table tr[data-lang=es]").get_attribute("data-explicit") in ("1", "1.0")
    assert metrics.widget_figures(metrics.period(days=1))["es"].voted_helpful == 1


def test_no_good_answer_offers_the_form_and_the_ticket_reaches_the_agent_queue(page, live_server, host, kb):
    open_widget(page, host())
    question = "¿Venden hélices de repuesto para el dron X9 modelo 2019?"
    ask(page, question)

    page.get_by_text("Todavía no tenemos una buena respuesta para eso.").wait_for()
    assert page.locator("#pd-results .result").count() == 0
    page.get_by_role("button", name="Contactar con soporte").click()
    page.get_by_label("Tu correo electrónico").fill("not-an-email")
    page.get_by_role("button", name="Enviar").click()
    page.get_by_text("Introduce una dirección de correo electrónico válida.").wait_for()
    assert not Ticket.objects.exists()

    page.get_by_label("Tu correo electrónico").fill("luis@example.com")
    assert page.get_by_label("Mensaje").input_value() == question
    page.get_by_label("Mensaje").fill("Necesito cuatro hélices para mi dron.")
    page.get_by_role("button", name="Enviar").click()
    page.get_by_text("¡Gracias! Hemos recibido tu solicitud.").wait_for()

    gap = Event.objects.get(kind=Event.Kind.NO_ANSWER)
    assert gap.data["text"] == question
    ticket = Ticket.objects.get()
    # One session carries the whole journey (opening the panel and asking at once must not split it).
    assert WidgetSession.objects.count() == 1 and ticket.widget_session == gap.widget_session
    assert (ticket.subject, ticket.language, ticket.channel) == (question, "es", "widget")
    staff("agent", "view_ticket")
    queue = page.context.new_page()
    sign_in(queue, live_server, "agent", "a-long-test-password")
    row = queue.locator("tr", has_text=question)
    row.wait_for()
    assert "es" in row.inner_text().split()


def test_contact_support_is_always_in_view_with_suggestions_in_an_article_and_after_no(page, live_server, host, kb):
    open_widget(page, host())
    contact = page.get_by_role("button", name="Contact support")
    expect(contact).to_be_visible()  # before anything is asked

    ask(page, "How do I track my order?")
    page.locator("#pd-results .result").first.wait_for()
    expect(contact).to_be_visible()  # the suggestions may all be wrong: a person is one click away
    page.locator("#pd-results .result").first.click()
    page.locator("#pd-article-title").wait_for()
    expect(contact).to_be_visible()
    page.get_by_role("button", name="No", exact=True).click()
    expect(page.get_by_label("Your email")).to_be_visible()
    page.get_by_role("button", name="Back to results").click()
    expect(contact).to_be_visible()  # after "No" and back to the list, still there

    # Straight from the list of suggestions to a ticket, the question already in the message.
    contact.click()
    assert page.get_by_label("Message").input_value() == "How do I track my order?"
    expect(contact).to_be_hidden()  # the form is where it leads; no second way to reset it
    page.get_by_label("Your email").fill("mia@example.com")
    page.get_by_role("button", name="Send").click()
    page.get_by_text("Thanks! Your request has been sent.").wait_for()
    ticket = Ticket.objects.get()
    assert (ticket.requester_email, ticket.channel) == ("mia@example.com", "widget")


def test_contact_support_stays_in_view_under_a_long_article_on_a_phone(browser, host, kb):
    context = browser.new_context(viewport=PHONE, locale="en-US", is_mobile=True, has_touch=True)
    page = context.new_page()
    open_widget(page, host())
    ask(page, "How do I track my order?")
    page.locator("#pd-results .result").first.click()
    page.locator("#pd-article-title").wait_for()
    contact = page.get_by_role("button", name="Contact support").bounding_box()
    assert contact["y"] + contact["height"] <= PHONE["height"]  # in view without scrolling the article
    assert 0 <= contact["x"] and contact["x"] + contact["width"] <= PHONE["width"]
    context.close()


def test_the_widget_renders_inside_a_page_with_hostile_css(page, host, kb, screenshot_dir):
    page.goto(host(HOSTILE_CSS))
    # The host page really is hostile: its own paragraph is gone.
    assert page.locator("#shop-intro").is_hidden()
    launcher = page.get_by_role("button", name="Help", exact=True)
    box = launcher.bounding_box()
    assert box["height"] >= 30 and box["width"] >= 40
    launcher.click()

    ask(page, "How do I track my order?")
    first = page.locator("#pd-results .result").first
    first.wait_for()
    style = first.evaluate("e => { const s = getComputedStyle(e.querySelector('.title'));"
                           " return [s.fontSize, s.display, s.color, getComputedStyle(e).direction]; }")
    assert style == ["15px", "block", "rgb(31, 94, 255)", "ltr"]
    panel = page.locator(".panel").bounding_box()
    assert panel["width"] >= 300 and panel["height"] >= 200
    assert 0 <= panel["x"] and panel["x"] + panel["width"] <= page.viewport_size["width"]
    page.screenshot(path=screenshot_dir / "widget-hostile-css.png")


def test_an_arabic_question_renders_right_to_left(page, host, kb, screenshot_dir):
    open_widget(page, host())
    ask(page, "أين طلبي؟ كيف أتتبع الطلب")

    first = page.locator("#pd-results .result").first
    first.wait_for()
    assert first.locator(".title").inner_text() == kb[("track-order", "ar")].title
    assert page.locator(".root").get_attribute("dir") == "rtl"
    assert page.locator(".panel").evaluate("e => getComputedStyle(e).direction") == "rtl"
    assert first.evaluate("e => getComputedStyle(e).direction") == "rtl"
    assert page.get_by_role("button", name="مساعدة", exact=True).is_visible()  # UI strings in Arabic too
    # Right-to-left puts the panel on the left edge (inset-inline-end).
    assert page.locator(".panel").bounding_box()["x"] < page.viewport_size["width"] / 2
    page.screenshot(path=screenshot_dir / "widget-arabic-rtl.png")


def test_the_widget_works_from_the_keyboard(page, host, kb):
    page.goto(host())
    page.get_by_role("button", name="Help", exact=True).focus()
    page.keyboard.press("Enter")
    assert page.get_by_role("button", name="Help", exact=True).get_attribute("aria-expanded") == "true"
    active = "document.querySelector('polyglot-desk-widget').shadowRoot.activeElement"
    assert page.evaluate(f"{active}.id") == "pd-q"

    page.keyboard.type("How do I track my order?")
    page.keyboard.press("Enter")
    page.locator("#pd-results .result").first.wait_for()
    page.keyboard.press("ArrowDown")
    assert page.evaluate(f"{active}.className") == "result"
    page.keyboard.press("Enter")
    page.locator("#pd-article-title").wait_for()
    assert page.evaluate(f"{active}.id") == "pd-article-title"

    page.keyboard.press("Escape")
    assert page.locator(".panel").is_hidden()
    assert page.evaluate(f"{active}.className") == "launcher"


def test_a_page_on_an_origin_the_site_does_not_allow_gets_no_answers(page, live_server, host, kb):
    url = host()
    host.site.allowed_origins = "https://somewhere-else.example"
    host.site.save()
    open_widget(page, url)
    ask(page, "How do I track my order?")
    page.get_by_text("Something went wrong. Please try again.").wait_for()
    assert not Event.objects.exists()


def test_markup_in_a_question_is_shown_as_text_and_never_runs(page, host, kb):
    open_widget(page, host())
    attack = '<img src=x onerror="window.__xss = 1"><script>window.__xss = 2</script> how do I track my order'
    ask(page, attack)
    page.locator("#pd-results .result, #pd-status:has-text('answer')").first.wait_for()
    page.locator("#pd-q").fill(attack + " ?")
    page.wait_for_timeout(600)  # the debounced type-ahead has answered too
    assert page.evaluate("window.__xss") is None
    assert page.locator("polyglot-desk-widget img, polyglot-desk-widget script").count() == 0
    assert Event.objects.get(kind="query").data["text"] == attack


def test_the_widget_works_on_a_site_with_a_strict_content_security_policy(page, live_server, host, kb):
    # The customer's policy: scripts and requests only from the desk, no inline styles or scripts at all.
    url = host()
    server_csp = (f"default-src 'none'; script-src {live_server.url}; connect-src {live_server.url}; "
                  f"style-src 'self'; img-src 'self' data:")
    host.server.page_csp = server_csp
    page.add_init_script("""window.__csp = [];
      document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.sourceFile + ' ' + e.violatedDirective));""")
    open_widget(page, url)
    # Its own styles apply (a constructed stylesheet, not a <style> the policy would block).
    launcher_position = page.evaluate("""getComputedStyle(document.querySelector('polyglot-desk-widget')
                                           .shadowRoot.querySelector('.launcher')).position""")
    assert launcher_position == "fixed"
    ask(page, "How do I reset my password?")
    page.locator("#pd-results .result").first.wait_for()
    from_widget = [v for v in page.evaluate("window.__csp") if "widget.js" in v]
    assert from_widget == []
