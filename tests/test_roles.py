"""Who may reach what: anonymous visitors sign in first; agents cannot take admin-only actions."""

import pytest
from django.contrib.auth.models import Group

from helpdesk.models import Article, DeskSettings
from helpdesk.roles import ADMINS, AGENTS, ensure_roles
from helpdesk.services.knowledge import save_article
from helpdesk.services.tickets import open_ticket
from tests.dashboard_support import admin_client_, admin_user_, agent, agent_client  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def objects(db):
    ticket = open_ticket(subject="Hola", requester_email="ana@example.com", body="No puedo entrar a mi cuenta")
    article = save_article(title="Reset a password", body="Open the sign-in page.", locale="en")
    return ticket, article


def dashboard_urls(ticket, article):
    return [
        "/desk/", f"/desk/tickets/{ticket.pk}/", f"/desk/tickets/{ticket.pk}/suggestions/",
        "/desk/kb/", "/desk/kb/new/", "/desk/kb/coverage/", f"/desk/kb/{article.pk}/",
        f"/desk/kb/{article.pk}/edit/", f"/desk/kb/{article.pk}/embedding/",
        "/desk/metrics/", "/desk/settings/", "/desk/settings/preview/?confidence_threshold=0.5",
    ]


def test_anonymous_visitor_is_redirected_to_sign_in_from_every_dashboard_url(client, objects):
    for url in dashboard_urls(*objects):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/?next="), url


def test_anonymous_posts_change_nothing(client, objects):
    ticket, article = objects
    responses = [
        client.post(f"/desk/tickets/{ticket.pk}/reply/", {"body": "hi"}),
        client.post(f"/desk/tickets/{ticket.pk}/update/", {"status": "solved", "priority": 2}),
        client.post(f"/desk/kb/{article.pk}/status/", {"status": "published"}),
        client.post("/desk/settings/", {"confidence_threshold": "0.9"}),
    ]
    assert {r.status_code for r in responses} == {302}
    assert ticket.messages.count() == 1
    ticket.refresh_from_db(); article.refresh_from_db()
    assert (ticket.status, article.status) == ("new", "draft")
    assert not DeskSettings.objects.exists()


def test_agent_works_tickets_and_reads_metrics_but_cannot_tune_or_publish(agent_client, objects):
    ticket, article = objects
    for url in ["/desk/", f"/desk/tickets/{ticket.pk}/", "/desk/kb/", f"/desk/kb/{article.pk}/edit/", "/desk/metrics/"]:
        assert agent_client.get(url).status_code == 200, url
    assert agent_client.get("/desk/settings/").status_code == 403
    assert agent_client.post("/desk/settings/", {"confidence_threshold": "0.9"}).status_code == 403
    assert agent_client.post(f"/desk/kb/{article.pk}/status/", {"status": "published"}).status_code == 403
    article.refresh_from_db()
    assert article.status == Article.Status.DRAFT
    assert not DeskSettings.objects.exists()
    page = agent_client.get("/desk/metrics/").content.decode()
    assert "Read-only" in page and 'href="/desk/settings/"' not in page


def test_admin_publishes_and_tunes(admin_client_, objects):
    _, article = objects
    assert admin_client_.post(f"/desk/kb/{article.pk}/status/", {"status": "published"}).status_code == 302
    article.refresh_from_db()
    assert article.status == Article.Status.PUBLISHED
    assert admin_client_.post("/desk/settings/", {"confidence_threshold": "0.42"}).status_code == 302
    assert DeskSettings.objects.get(pk=1).confidence_threshold == 0.42


def test_user_without_a_role_is_forbidden(client, objects, django_user_model):
    client.force_login(django_user_model.objects.create_user("nobody", password="x-long-password-1"))
    assert client.get("/desk/").status_code == 403
    assert client.get("/desk/metrics/").status_code == 403


def test_ensure_roles_is_idempotent_and_keeps_admin_permissions_from_agents(db):
    ensure_roles()
    agents, admins = ensure_roles()
    assert Group.objects.filter(name__in=[AGENTS, ADMINS]).count() == 2
    agent_codes = set(agents.permissions.values_list("codename", flat=True))
    admin_codes = set(admins.permissions.values_list("codename", flat=True))
    assert {"view_metrics", "change_ticket", "add_article"} <= agent_codes
    assert not {"change_desksettings", "publish_article"} & agent_codes
    assert {"change_desksettings", "publish_article", "view_metrics"} <= admin_codes
