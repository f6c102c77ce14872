"""Access rules for dashboard views: every page needs a signed-in user with the right permission."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required, permission_required

# One name per rule, so views say what they need rather than which codename implements it.
WORK_TICKETS = "helpdesk.view_ticket"
CHANGE_TICKETS = "helpdesk.change_ticket"
REPLY = "helpdesk.add_message"
GIVE_FEEDBACK = "helpdesk.change_suggestion"
READ_KB = "helpdesk.view_article"
EDIT_KB = "helpdesk.change_article"
DRAFT_KB = "helpdesk.add_article"
PUBLISH_KB = "helpdesk.publish_article"
READ_METRICS = "helpdesk.view_metrics"
TUNE_DESK = "helpdesk.change_desksettings"


def requires(*perms: str):
    """Decorate a view: anonymous users go to sign-in, signed-in users without `perms` get 403."""

    def decorator(view):
        guarded = login_required(permission_required(perms, raise_exception=True)(view))
        return wraps(view)(guarded)

    return decorator
