"""What a person sees when a page is closed to them or gone: the desk's own page with a reason and a way
back, not Django's one bare line ("403 Forbidden", "Not Found")."""

from __future__ import annotations

import pytest

from helpdesk.models import Article
from helpdesk.services.knowledge import save_article
from tests.dashboard_support import agent  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def test_an_agent_following_a_link_to_an_admins_page_learns_why_and_how_to_get_back(client, agent):
    client.force_login(agent)
    response = client.get("/desk/widget-sites/")
    page = response.content.decode()
    assert response.status_code == 403
    assert "This page is not available to you" in page
    assert "You are signed in as agent, and your role does not include this page" in page
    assert 'href="/desk/">Back to the open tickets</a>' in page
    assert 'href="/desk/kb/">Knowledge base</a>' in page  # the dashboard's own navigation is there


def test_a_customer_following_a_link_to_an_unpublished_article_gets_a_page_not_a_bare_line(client):
    draft = save_article(title="Unreleased plan", body="Secret.", locale="en", status=Article.Status.DRAFT)
    response = client.get(f"/help/articles/{draft.pk}/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in page and "It may have been removed or unpublished" in page
    assert "Secret." not in page and "Back to the open tickets" not in page  # no desk links for customers


def test_dashboard_and_public_pages_name_an_icon_that_is_served(client, agent):
    # Without one, every page's first visit logs a 404 for /favicon.ico in the browser console.
    from django.contrib.staticfiles import finders

    article = save_article(title="Track your order", body="Open Orders.", locale="en",
                           status=Article.Status.PUBLISHED)
    public = client.get(f"/help/articles/{article.pk}/").content.decode()
    client.force_login(agent)
    for page in (client.get("/desk/").content.decode(), public):
        assert 'rel="icon"' in page and "favicon.svg" in page
    assert finders.find("helpdesk/favicon.svg")


def test_a_server_error_shows_a_page_that_says_what_happened_and_offers_a_way_back(rf):
    from django.views.defaults import server_error

    response = server_error(rf.get("/desk/"))
    page = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in page and "Please try again in a moment" in page
    assert 'href="/desk/"' in page
