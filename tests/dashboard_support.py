"""Shared helpers for the dashboard tests: users in the two roles and a signed-in client."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from helpdesk.roles import ensure_roles

PASSWORD = "a-long-test-password"


def make_user(username: str, role: str) -> User:
    agents, admins = ensure_roles()
    user = User.objects.create_user(username, password=PASSWORD, is_staff=(role == "admin"))
    user.groups.add(admins if role == "admin" else agents)
    return user


@pytest.fixture
def agent(db):
    return make_user("agent", "agent")


@pytest.fixture
def admin_user_(db):
    return make_user("boss", "admin")


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


@pytest.fixture
def admin_client_(client, admin_user_):
    client.force_login(admin_user_)
    return client


@pytest.fixture
def hashing_encoder(settings):
    """The fast stand-in encoder, for tests where the model is not the subject."""
    settings.HELPDESK = {**getattr(settings, "HELPDESK", {}), "ENCODER": "hashing"}
