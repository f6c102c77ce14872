"""Reads for the admins' inbound-mail page."""

from __future__ import annotations

from django.core.paginator import Page, Paginator

from helpdesk.models import InboundEmail

FILTERS = {
    "problems": (InboundEmail.State.FAILED, InboundEmail.State.IGNORED),
    "failed": (InboundEmail.State.FAILED,),
    "ignored": (InboundEmail.State.IGNORED,),
    "waiting": (InboundEmail.State.STORED,),
    "all": tuple(InboundEmail.State.values),
}


def inbound_mail(*, show: str = "problems", page: int | str = 1, per_page: int = 50) -> Page:
    """Stored messages, newest first: by default those that failed or were ignored."""
    states = FILTERS.get(show, FILTERS["problems"])
    qs = InboundEmail.objects.filter(state__in=states).defer("raw").select_related("ticket")
    return Paginator(qs.order_by("-received_at", "-id"), per_page).get_page(page)


def inbound_counts() -> dict[str, int]:
    from django.db.models import Count

    return dict(InboundEmail.objects.values_list("state").annotate(n=Count("id")).values_list("state", "n"))
