"""Response headers: a Content-Security-Policy with no inline code on every page, no caching of what a
signed-in user sees (the KB export included), nosniff and a same-origin Referrer-Policy."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from helpdesk.models import Article
from helpdesk.services.knowledge import save_article
from helpdesk.services.widget import save_site
from tests.dashboard_support import admin_client_, admin_user_, hashing_encoder  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent
ORIGIN = "https://shop.example.com"


@pytest.fixture
def article(hashing_encoder):
    return save_article(title="Refund timing", body="Five business days.", locale="en", status=Article.Status.PUBLISHED)


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


SIGNED_IN_PAGES = ["/desk/", "/desk/kb/", "/desk/kb/{article}/", "/desk/kb/{article}/edit/", "/desk/metrics/",
                   "/desk/settings/", "/desk/kb/import/", "/desk/widget-sites/", "/desk/kb/revisions/",
                   "/desk/kb/{article}/embedding/", "/desk/kb/export/?format=json", "/desk/kb/export/?format=csv"]


@pytest.mark.parametrize("path", SIGNED_IN_PAGES)
def test_signed_in_pages_and_downloads_are_private_and_never_stored(admin_client_, article, path):
    response = admin_client_.get(path.format(article=article.pk))
    assert response.status_code == 200
    cache_control = {d.strip() for d in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= cache_control
    assert "public" not in cache_control


def test_the_kb_export_is_a_private_download(admin_client_, article):
    response = admin_client_.get("/desk/kb/export/?format=json")
    assert "attachment" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"Five business days." in body


@pytest.mark.parametrize("who, path", [
    ("admin", "/desk/"), ("admin", "/desk/metrics/"), ("admin", "/desk/kb/{article}/edit/"),
    ("anonymous", "/accounts/login/"), ("anonymous", "/help/articles/{article}/"), ("anonymous", "/no/such/page/"),
    ("anonymous", "widget"),
])
def test_every_page_has_a_policy_without_inline_code_and_the_other_headers(client, admin_client_, article, who,
                                                                          path):
    if path == "widget":
        site = save_site(name="Shop", allowed_origins=ORIGIN)
        response = client.get(f"/desk/widget/v1/{site.key}/suggest/?q=refund", headers={"Origin": ORIGIN})
    else:
        response = (admin_client_ if who == "admin" else client).get(path.format(article=article.pk))
    directives = policy(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"] and directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"] and directives["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_the_public_article_page_is_not_marked_private(client, article):
    response = client.get(f"/help/articles/{article.pk}/")
    assert "no-store" not in response.get("Cache-Control", "")


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "inline event handler"),
    (re.compile(r"<style", re.I), "inline <style>"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"hx-on|javascript:", re.I), "code in an attribute"),
]
# The stand-in for a customer's own site (served by `widget_demo_host`, not by the desk) is the customer's;
# HTML email bodies (templates/helpdesk/email/) need inline styles, since mail clients drop stylesheets.
NOT_DESK_PAGES = {"widget_demo_host.html"}
NOT_PAGES_DIR = "email"


def test_no_template_carries_inline_code_or_styles():
    found = []
    for template in sorted([*ROOT.glob("helpdesk/templates/**/*.html"), *ROOT.glob("templates/**/*.html")]):
        if template.name in NOT_DESK_PAGES or template.parent.name == NOT_PAGES_DIR:
            continue
        text = template.read_text()
        found += [f"{template.relative_to(ROOT)}: {what}" for pattern, what in INLINE if pattern.search(text)]
    assert found == []


def test_the_metrics_page_passes_chart_data_as_json_not_as_script(admin_client_, article):
    html = admin_client_.get("/desk/metrics/").content.decode()
    data = re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', html, re.S)
    assert data and "funnel" in json.loads(data.group(1))
