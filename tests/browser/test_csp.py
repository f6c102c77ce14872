"""The Content-Security-Policy in Chromium: every dashboard page, the help page and sign-in work with
no inline code allowed, and the browser reports no violation."""

import pytest
from playwright.sync_api import expect

from helpdesk.models import Article
from helpdesk.services.knowledge import embed_chunks, pending_chunk_ids, save_article
from helpdesk.services.tickets import open_ticket
from tests.browser.conftest import sign_in
from tests.dashboard_support import PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Runs before any script of the page: collects what the policy blocked.
COLLECT = """window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + e.sourceFile + ':' + e.lineNumber));"""


def test_pages_run_under_the_policy_without_a_single_violation(page, live_server, settings):
    settings.HELPDESK = {**getattr(settings, "HELPDESK", {}), "ENCODER": "hashing"}
    make_user("boss", "admin")
    article = save_article(title="Refund timing", body="Refunds take five business days.", locale="en",
                           status=Article.Status.PUBLISHED)
    embed_chunks(chunk_ids=pending_chunk_ids())
    ticket = open_ticket(subject="Refund?", requester_email="a@example.com", body="When is my refund coming?",
                         language="en")
    page.add_init_script(COLLECT)
    page.goto(f"{live_server.url}/accounts/login/")
    assert page.evaluate("window.__csp") == []
    sign_in(page, live_server, "boss", PASSWORD)
    violations = {}
    for path in ["/desk/", f"/desk/tickets/{ticket.pk}/", "/desk/kb/", f"/desk/kb/{article.pk}/edit/",
                 "/desk/metrics/", "/desk/settings/", "/desk/kb/import/", "/desk/widget-sites/",
                 f"/help/articles/{article.pk}/"]:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        violations[path] = page.evaluate("window.__csp")
    assert violations == {path: [] for path in violations}

    # Behaviour that moved from inline code to static files still works: HTMX loads the panel,
    # Chart.js draws, and the language menu switches the interface.
    page.goto(f"{live_server.url}/desk/tickets/{ticket.pk}/")
    expect(page.locator(".suggestion").first).to_contain_text("Refund timing")
    page.goto(f"{live_server.url}/desk/metrics/")
    assert page.evaluate("document.getElementById('funnel-chart').width") > 0
    page.select_option("#ui-language", "es")
    page.wait_for_load_state("networkidle")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    assert page.evaluate("window.__csp") == []
