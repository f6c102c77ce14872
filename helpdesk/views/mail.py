"""Agents' email actions (delivery state, Retry) and the admins' Outbox of locally captured mail."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from helpdesk import conf
from helpdesk import permissions as perms
from helpdesk.models import OutboundEmail
from helpdesk.permissions import requires
from helpdesk.selectors import outbox as outbox_selectors
from helpdesk.services import email_out


@require_GET
@requires(perms.WORK_TICKETS)
def email_status(request, pk: int):
    """The delivery line of one email (polled by the ticket page while it is queued or sending)."""
    email = get_object_or_404(OutboundEmail, pk=pk)
    return render(request, "helpdesk/_delivery.html", {"email": email})


@require_POST
@requires(perms.WORK_TICKETS, perms.REPLY)
def email_retry(request, pk: int):
    email = get_object_or_404(OutboundEmail, pk=pk)
    if email_out.retry_email(email_id=email.pk):
        messages.success(request, _("The email is queued again."))
    else:
        messages.info(request, _("That email is not failed (it is queued or sent already)."))
    return redirect("helpdesk:ticket", pk=email.ticket_id)


def outbox_enabled() -> bool:
    """The Outbox exists where a capture server is configured, or in DEBUG."""
    return bool(conf.get("MAIL_CAPTURE_DIR")) or settings.DEBUG


@require_GET
@requires(perms.TUNE_DESK)
def outbox(request):
    if not outbox_enabled():
        raise Http404("no outbox here")
    page = outbox_selectors.captured_page(page=request.GET.get("page", 1))
    return render(request, "helpdesk/outbox.html", {"page": page, "directory": outbox_selectors.capture_dir()})


@require_GET
@requires(perms.TUNE_DESK)
def outbox_message(request, name: str):
    if not outbox_enabled():
        raise Http404("no outbox here")
    captured = outbox_selectors.captured_message(name)
    if captured is None:
        raise Http404("no such message")
    if request.GET.get("raw") == "1":
        response = HttpResponse(captured.raw, content_type="message/rfc822")
        response["Content-Disposition"] = f'attachment; filename="{captured.name}"'
        return response
    return render(request, "helpdesk/outbox_message.html", {"m": captured})
