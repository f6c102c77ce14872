"""Admins' inbound-mail pages (failed and ignored mail, re-processing) and agents' attachment downloads."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from helpdesk import conf
from helpdesk import permissions as perms
from helpdesk.inbound.parsing import parse_email
from helpdesk.models import EmailAttachment, InboundEmail
from helpdesk.permissions import requires
from helpdesk.selectors.inbound_email import FILTERS, inbound_counts, inbound_mail
from helpdesk.services.inbound_email import reprocess_inbound

MANAGE_MAIL = "helpdesk.change_inboundemail"


def _filter_labels() -> dict[str, str]:
    # The filters' keys are URL parameters; people read words in their own language.
    return {"problems": _("Problems"), "failed": _("Failed"), "ignored": _("Ignored"),
            "waiting": _("Waiting"), "all": _("All")}


@require_GET
@requires(MANAGE_MAIL)
def inbound_list(request):
    show = request.GET.get("show", "problems")
    page = inbound_mail(show=show, page=request.GET.get("page", 1))
    return render(request, "helpdesk/inbound_mail.html", {
        "page": page, "rows": page.object_list, "show": show if show in FILTERS else "problems",
        "filters": [(key, _filter_labels().get(key, key)) for key in FILTERS],
        "counts": [(InboundEmail.State(state).label if state in InboundEmail.State.values else state, n)
                   for state, n in inbound_counts().items()],
    })


@require_GET
@requires(MANAGE_MAIL)
def inbound_detail(request, pk: int):
    row = get_object_or_404(InboundEmail, pk=pk)
    parsed = parse_email(bytes(row.raw))
    headers = [(name, value) for name, values in parsed.headers.items() for value in values][:60]
    return render(request, "helpdesk/inbound_mail_detail.html", {"row": row, "headers": headers, "text": parsed.text[:20_000]})


@require_POST
@requires(MANAGE_MAIL)
def reprocess(request, pk: int):
    row = get_object_or_404(InboundEmail, pk=pk)
    if row.state == InboundEmail.State.PROCESSED:
        messages.info(request, _("This message is already in a conversation."))
        return redirect("helpdesk:inbound-mail-detail", pk=pk)
    row = reprocess_inbound(row.pk)
    if row.state == InboundEmail.State.PROCESSED:
        messages.success(request, _("Processed: ticket #%(id)s.") % {"id": row.ticket_id})
    else:
        messages.error(request, _("Still not processed: %(why)s") % {"why": row.error or row.get_reason_display()})
    return redirect("helpdesk:inbound-mail-detail", pk=pk)


@require_GET
@requires(MANAGE_MAIL)
def raw(request, pk: int):
    row = get_object_or_404(InboundEmail, pk=pk)
    response = HttpResponse(bytes(row.raw), content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="inbound-{row.pk}.eml"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@requires(perms.WORK_TICKETS)
def attachment(request, pk: int):
    """A file a customer sent, always as a download (never rendered in the desk's origin)."""
    item = get_object_or_404(EmailAttachment, pk=pk)
    if item.refused or not item.file:
        raise Http404("this file was not stored")
    allowed = item.content_type in conf.get("ATTACHMENT_TYPES")
    response = FileResponse(item.file.open("rb"), as_attachment=True, filename=item.filename,
                            content_type=item.content_type if allowed else "application/octet-stream")
    response["Cache-Control"] = "private, no-store"  # a customer's file: never kept by a shared or browser cache
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["X-Content-Type-Options"] = "nosniff"
    return response
