"""An admin uploads a ZIP of the KB in Chromium, watches the import finish, and a customer's widget finds it."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pytest
from django.contrib.auth.models import User

from helpdesk.models import Article, ImportJob
from helpdesk.roles import ensure_roles
from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"
SHOP = "https://shop.example.com"


def test_admin_uploads_a_zip_watches_it_finish_and_the_widget_api_finds_an_article(
    page, live_server, celery_worker, screenshot_dir
):
    from helpdesk.services.widget import save_site

    _, admins = ensure_roles()
    User.objects.create_user("olga", password="a-long-test-password").groups.add(admins)
    sign_in(page, live_server, "olga", "a-long-test-password", next_path="/desk/kb/import/")
    assert page.locator("h1").inner_text() == "Import articles"
    assert page.locator("nav a", has_text="Import").count() == 1

    page.set_input_files("input[name=files]", str(FIXTURES / "all.zip"))
    # Imports are drafts unless the admin chooses to publish them at once.
    assert not page.get_by_label("Publish imported articles").is_checked()
    page.get_by_label("Publish imported articles").check()
    page.click("form.upload-form button[type=submit]")

    page.wait_for_url(re.compile(r"/desk/kb/import/\d+/$"))
    job = ImportJob.objects.get()
    assert page.url.endswith(f"/desk/kb/import/{job.pk}/")
    # The panel polls itself until parsing is done and every passage is embedded.
    page.wait_for_selector("#import-progress[data-complete=true]", timeout=180_000)
    panel = page.locator("#import-progress")
    assert panel.locator(".import-state").inner_text() == "Done"
    assert panel.locator("[data-count=files]").inner_text() == "7 / 7"
    assert panel.locator("[data-count=created]").inner_text() == "11"
    embedded, total = panel.locator("[data-count=chunks]").inner_text().split(" / ")
    assert embedded == total and int(total) >= 11
    assert panel.locator("tr[data-status=imported]").count() == 7
    assert panel.locator("progress").get_attribute("value") == "100"
    page.screenshot(path=str(screenshot_dir / "upload-done.png"), full_page=True)

    # A customer on the shop's site types a question; the widget API answers with the uploaded article.
    site = save_site(name="Northwind shop", allowed_origins=SHOP)
    question = quote("I forgot my password and cannot sign in")
    response = page.request.get(f"{live_server.url}/desk/widget/v1/{site.key}/suggest/?q={question}&locale=en",
                                headers={"Origin": SHOP})
    assert response.status == 200
    results = response.json()["results"]
    expected = Article.objects.get(external_id="kb-reset-password", locale="en")
    assert results and results[0]["article_id"] == expected.pk
