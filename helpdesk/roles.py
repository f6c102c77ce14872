"""The two roles of the dashboard, as Django groups: Agents work tickets, Admins also run the desk.

Agents read and write tickets, draft and edit articles, give suggestion feedback and read the
metrics; their edits to a published article wait as a revision until someone who may publish
publishes it. Admins additionally publish and unpublish articles (and agents' revisions), tune the
confidence threshold and hold every other helpdesk permission (uploads, widget sites). The publish
right is the `helpdesk.publish_article` permission: grant it to single agents in Django's admin.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission

AGENTS = "Helpdesk agents"
ADMINS = "Helpdesk admins"

AGENT_PERMISSIONS = [
    "view_ticket", "change_ticket", "add_ticket",
    "view_message", "add_message",
    "view_article", "add_article", "change_article",
    "view_chunk",
    "view_suggestion", "change_suggestion",
    "view_event",
    "view_metrics",
]


def ensure_roles() -> tuple[Group, Group]:
    """Create (or refresh) the agent and admin groups with their permissions; return both."""
    agents, _ = Group.objects.get_or_create(name=AGENTS)
    admins, _ = Group.objects.get_or_create(name=ADMINS)
    helpdesk_perms = Permission.objects.filter(content_type__app_label="helpdesk")
    agents.permissions.set(helpdesk_perms.filter(codename__in=AGENT_PERMISSIONS))
    admins.permissions.set(helpdesk_perms)
    return agents, admins


def is_desk_admin(user) -> bool:
    """True for users who may change how the desk works (threshold, publishing)."""
    return user.is_active and (user.is_superuser or user.has_perm("helpdesk.change_desksettings"))
