import pytest
from django.contrib.auth.models import Permission, User

from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_anonymous_visitor_is_sent_to_sign_in_and_agent_reaches_queue(page, live_server):
    page.goto(f"{live_server.url}/desk/")
    assert "/accounts/login/" in page.url

    user = User.objects.create_user("ana", password="a-long-test-password")
    user.user_permissions.add(Permission.objects.get(codename="view_ticket"))
    sign_in(page, live_server, "ana", "a-long-test-password")

    assert page.url.endswith("/desk/")
    assert page.locator("h1").inner_text() == "Open tickets"
