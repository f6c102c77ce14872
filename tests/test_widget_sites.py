"""Admin pages for widget sites: only admins reach them; create, rotate and revoke keys through forms."""

import pytest
from django.contrib.auth.models import User

from helpdesk.models import WidgetSite
from helpdesk.roles import ensure_roles

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    _, admins = ensure_roles()
    user = User.objects.create_user("boss", password="a-long-test-password")
    user.groups.add(admins)
    client.force_login(user)
    return client


def test_anonymous_visitors_go_to_sign_in_and_agents_are_refused(client):
    assert client.get("/desk/widget-sites/").status_code == 302
    agents, _ = ensure_roles()
    agent = User.objects.create_user("ana", password="a-long-test-password")
    agent.groups.add(agents)
    client.force_login(agent)
    assert client.get("/desk/widget-sites/").status_code == 403
    assert client.post("/desk/widget-sites/new/", {"name": "x", "allowed_origins": "https://x.example",
                                                    "default_locale": "en", "requests_per_minute": 10,
                                                    "client_requests_per_minute": 5}).status_code == 403
    assert not WidgetSite.objects.exists()


def test_an_admin_creates_a_site_and_gets_the_embed_code(admin_client):
    response = admin_client.post("/desk/widget-sites/new/", {
        "name": "Shop", "allowed_origins": "https://shop.example.com/\nhttp://localhost:8001",
        "default_locale": "es", "requests_per_minute": 300, "client_requests_per_minute": 30,
    })
    site = WidgetSite.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/desk/widget-sites/{site.pk}/"
    assert site.origins == ["https://shop.example.com", "http://localhost:8001"]
    assert (site.default_locale, site.requests_per_minute, site.client_requests_per_minute) == ("es", 300, 30)

    page = admin_client.get(response["Location"]).content.decode()
    assert f'data-key=&quot;{site.key}&quot;' in page
    assert "/static/helpdesk/widget/widget.js" in page
    assert "Shop" in admin_client.get("/desk/widget-sites/").content.decode()


@pytest.mark.parametrize("origins", ["*", "https://*.example.com", "https://shop.example.com/path", ""])
def test_wildcards_paths_and_empty_origins_are_refused_with_a_message(admin_client, origins):
    response = admin_client.post("/desk/widget-sites/new/", {
        "name": "Shop", "allowed_origins": origins, "default_locale": "en",
        "requests_per_minute": 300, "client_requests_per_minute": 30,
    })
    assert response.status_code == 200
    assert response.context["form"].errors["allowed_origins"]
    assert not WidgetSite.objects.exists()


def test_rotate_and_revoke_ask_first_and_change_the_key_only_on_post(admin_client):
    site = WidgetSite.objects.create(name="Shop", allowed_origins="https://shop.example.com")
    old = site.key
    # GET is the confirmation page (what the site page's dialog shows without JavaScript): nothing changes.
    ask = admin_client.get(f"/desk/widget-sites/{site.pk}/rotate/").content.decode()
    assert "Rotate this site's key?" in ask and 'name="grace_hours"' in ask
    assert "Revoke this site's key?" in admin_client.get(f"/desk/widget-sites/{site.pk}/revoke/").content.decode()
    site.refresh_from_db()
    assert site.key == old and not site.is_revoked

    admin_client.post(f"/desk/widget-sites/{site.pk}/rotate/", {"grace_hours": "0"})
    site.refresh_from_db()
    assert site.key != old and site.key_rotated_at is not None and site.previous_key == ""

    admin_client.post(f"/desk/widget-sites/{site.pk}/revoke/")
    site.refresh_from_db()
    assert site.is_revoked
    page = admin_client.get(f"/desk/widget-sites/{site.pk}/").content.decode()
    assert "Revoked on" in page and site.key not in page


def test_the_site_page_offers_both_actions_behind_dialogs_and_shows_the_body_tag(admin_client):
    site = WidgetSite.objects.create(name="Shop", allowed_origins="https://shop.example.com")
    page = admin_client.get(f"/desk/widget-sites/{site.pk}/").content.decode()
    assert "just before <code>&lt;/body&gt;</code>:" in page
    assert 'data-opens-dialog="rotate-dialog"' in page and 'data-opens-dialog="revoke-dialog"' in page
    assert '<dialog id="rotate-dialog"' in page and '<dialog id="revoke-dialog"' in page
    assert "<script>" not in page  # the Content-Security-Policy allows no inline script


def test_a_rotation_with_a_grace_period_keeps_the_old_key_working_until_it_ends(admin_client, client):
    from datetime import timedelta

    from django.utils import timezone

    site = WidgetSite.objects.create(name="Shop", allowed_origins="https://shop.example.com")
    old = site.key
    response = admin_client.post(f"/desk/widget-sites/{site.pk}/rotate/", {"grace_hours": "24"})
    assert response.status_code == 302
    site.refresh_from_db()
    assert site.key != old and site.previous_key == old
    assert timedelta(hours=23, minutes=59) < site.previous_key_expires_at - timezone.now() <= timedelta(hours=24)
    page = admin_client.get(f"/desk/widget-sites/{site.pk}/").content.decode()
    assert f"The previous key <code>{old}</code> keeps working until" in page

    def start(key):
        return client.post(f"/desk/widget/v1/{key}/sessions/", "{}", content_type="application/json",
                           HTTP_ORIGIN="https://shop.example.com")

    assert start(old).status_code == 201 and start(site.key).status_code == 201
    site.refresh_from_db()
    site.previous_key_expires_at = timezone.now() - timedelta(seconds=1)  # the grace period has run out
    site.save(update_fields=["previous_key_expires_at"])
    assert start(old).json()["error"] == "unknown_key"
    assert start(site.key).status_code == 201


def test_revoking_ends_the_grace_period_of_the_old_key_too(admin_client, client):
    site = WidgetSite.objects.create(name="Shop", allowed_origins="https://shop.example.com")
    old = site.key
    admin_client.post(f"/desk/widget-sites/{site.pk}/rotate/", {"grace_hours": "168"})
    admin_client.post(f"/desk/widget-sites/{site.pk}/revoke/")
    site.refresh_from_db()
    assert site.is_revoked and site.previous_key == "" and not site.previous_key_works
    response = client.post(f"/desk/widget/v1/{old}/sessions/", "{}", content_type="application/json",
                           HTTP_ORIGIN="https://shop.example.com")
    assert response.status_code == 403


def test_a_grace_period_that_is_not_offered_is_refused_and_changes_nothing(admin_client):
    site = WidgetSite.objects.create(name="Shop", allowed_origins="https://shop.example.com")
    old = site.key
    for bad in ("abc", "99999", "-1"):
        assert admin_client.post(f"/desk/widget-sites/{site.pk}/rotate/", {"grace_hours": bad}).status_code == 400
    site.refresh_from_db()
    assert site.key == old and site.previous_key == ""
