"""The dashboard's own text in English, Spanish and Arabic (right to left)."""

import pytest
from django.conf import settings

from tests.dashboard_support import agent, agent_client  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("language, direction, heading, nav", [
    ("en", "ltr", "Open tickets", "Knowledge base"),
    ("es", "ltr", "Tickets abiertos", "Base de conocimiento"),
    ("ar", "rtl", "التذاكر المفتوحة", "قاعدة المعرفة"),
])
def test_queue_speaks_the_chosen_language(agent_client, language, direction, heading, nav):
    agent_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    html = agent_client.get("/desk/").content.decode()
    assert f'<html lang="{language}" dir="{direction}">' in html
    assert f"<h1>{heading}</h1>" in html and nav in html


def test_language_switch_form_sets_the_language(agent_client):
    response = agent_client.post("/i18n/setlang/", {"language": "ar", "next": "/desk/metrics/"})
    assert response.status_code == 302 and response["Location"] == "/desk/metrics/"
    assert "المقاييس" in agent_client.get("/desk/metrics/").content.decode()
