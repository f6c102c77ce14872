"""The agents' pages: the ticket queue, a ticket with its conversation, and the suggestions panel."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from helpdesk import permissions as perms
from helpdesk.forms import FeedbackForm, QueueFilterForm, ReplyForm, TicketUpdateForm, desk_users
from helpdesk.models import Message, Suggestion, Ticket
from helpdesk.permissions import requires
from helpdesk.selectors.queue import (
    agent_queue, attach_passages, latest_customer_message, queue_languages, ticket_acknowledgements,
    ticket_conversation,
)
from helpdesk.services.desk_settings import current_confidence_threshold
from helpdesk.services import feedback
from helpdesk.services.tickets import post_reply
from helpdesk.services.tickets import update_ticket
from helpdesk.views.json_api import json_endpoint


@require_GET
@requires(perms.WORK_TICKETS)
def queue(request):
    form = QueueFilterForm(request.GET or None)
    page = agent_queue(filters=form.filters(), user=request.user, page=request.GET.get("page", 1))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "helpdesk/queue.html", {
        "form": form, "page": page, "tickets": page.object_list, "languages": queue_languages(),
        "assignees": desk_users(), "query": query.urlencode(), "filters": form.filters(),
    })


@require_GET
@requires(perms.WORK_TICKETS)
def ticket_detail(request, pk: int):
    ticket = get_object_or_404(Ticket.objects.select_related("assignee"), pk=pk)
    return _render_ticket(request, ticket)


def _render_ticket(request, ticket, *, reply_form=None, update_form=None, status=200):
    return render(request, "helpdesk/ticket.html", {
        "ticket": ticket,
        "conversation": ticket_conversation(ticket),
        "acknowledgements": ticket_acknowledgements(ticket),
        "reply_form": reply_form or ReplyForm(),
        "update_form": update_form or TicketUpdateForm(instance=ticket),
        "can_draft": request.user.has_perm(perms.DRAFT_KB),
    }, status=status)


@require_POST
@requires(perms.WORK_TICKETS, perms.REPLY)
def ticket_reply(request, pk: int):
    ticket = get_object_or_404(Ticket, pk=pk)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        return _render_ticket(request, ticket, reply_form=form, status=400)
    internal = form.cleaned_data["visibility"] == Message.Visibility.INTERNAL
    try:
        post_reply(ticket=ticket, body=form.cleaned_data["body"], author=request.user, internal=internal)
    except ValueError as exc:
        form.add_error("body", str(exc))
        return _render_ticket(request, ticket, reply_form=form, status=400)
    if internal:
        messages.success(request, _("Internal note added. It is not sent to the customer."))
    elif ticket.requester_email:
        messages.success(request, _("Reply added; it is being emailed to %(email)s.") % {"email": ticket.requester_email})
    else:
        messages.success(request, _("Reply added."))
    return redirect("helpdesk:ticket", pk=ticket.pk)


@require_POST
@requires(perms.WORK_TICKETS, perms.CHANGE_TICKETS)
def ticket_update(request, pk: int):
    ticket = get_object_or_404(Ticket, pk=pk)
    # The form validates on its own copy: ModelForm validation writes onto its instance.
    form = TicketUpdateForm(request.POST, instance=Ticket.objects.get(pk=ticket.pk))
    if not form.is_valid():
        return _render_ticket(request, ticket, update_form=form, status=400)
    data = form.cleaned_data
    update_ticket(ticket=ticket, status=data["status"], priority=data["priority"], assignee=data["assignee"])
    messages.success(request, _("Ticket updated."))
    return redirect("helpdesk:ticket", pk=ticket.pk)


@require_GET
@requires(perms.WORK_TICKETS)
def suggestions_panel(request, pk: int):
    """The suggestions fragment; polled, it answers 204 (nothing to swap) until the customer writes again."""
    ticket = get_object_or_404(Ticket, pk=pk)
    latest = latest_customer_message(ticket)
    latest_id = str(latest.pk if latest else 0)
    if request.GET.get("after") == latest_id:
        return HttpResponse(status=204)
    rows = feedback.show_ticket_suggestions(ticket=ticket, since=latest.created_at if latest else None)
    return render(request, "helpdesk/_suggestions.html", {
        "ticket": ticket, "suggestions": attach_passages(rows), "latest_id": latest_id,
        "threshold": current_confidence_threshold(),
        "can_feedback": request.user.has_perm(perms.GIVE_FEEDBACK),
    })


@require_POST
@requires(perms.WORK_TICKETS, perms.GIVE_FEEDBACK)
def suggestion_feedback(request, pk: int):
    suggestion = get_object_or_404(Suggestion.objects.select_related("article", "ticket"), pk=pk, ticket__isnull=False)
    form = FeedbackForm(request.POST)
    if not form.is_valid():
        return HttpResponse(_("Say whether the suggestion was helpful."), status=400)
    feedback.mark_suggestion(suggestion=suggestion, helpful=form.cleaned_data["helpful"], user=request.user)
    attach_passages([suggestion])
    return render(request, "helpdesk/_suggestion.html", {"s": suggestion, "ticket": suggestion.ticket,
                                                         "can_feedback": True,
                                                         "threshold": current_confidence_threshold()})


@json_endpoint("POST", perms=(perms.WORK_TICKETS, perms.GIVE_FEEDBACK))
def suggestion_insert(request, pk: int):
    suggestion = get_object_or_404(Suggestion.objects.select_related("article"), pk=pk, ticket__isnull=False)
    # The customer reads this link: the public page, not the agents' KB page behind sign-in.
    link = request.build_absolute_uri(reverse("helpdesk_public:article", args=[suggestion.article_id]))
    text = feedback.insert_suggestion(suggestion=suggestion, user=request.user, link=link)
    return JsonResponse({"text": text, "suggestion": suggestion.pk})
