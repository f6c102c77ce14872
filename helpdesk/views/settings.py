"""Admin-only desk settings: the suggestion confidence threshold (with a preview of its effect) and the
email acknowledgement of new tickets."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from helpdesk import permissions as perms
from helpdesk.forms import AcknowledgementForm, ThresholdForm
from helpdesk.permissions import requires
from helpdesk.selectors.metrics import threshold_preview
from helpdesk.services.desk_settings import (
    acknowledgement_settings as current_acknowledgement_settings, current_confidence_threshold,
    set_acknowledgement_settings, set_confidence_threshold,
)


@require_http_methods(["GET", "POST"])
@requires(perms.TUNE_DESK)
def desk_settings(request):
    current = current_confidence_threshold()
    if request.method == "POST":
        form = ThresholdForm(request.POST)
        if form.is_valid():
            set_confidence_threshold(value=form.cleaned_data["confidence_threshold"], user=request.user)
            messages.success(request, _("Confidence threshold saved."))
            return redirect("helpdesk:settings")
        status = 400
    else:
        form = ThresholdForm(initial={"confidence_threshold": current})
        status = 200
    return _render(request, form=form, current=current, status=status)


def _render(request, *, form=None, current=None, status=200):
    current = current_confidence_threshold() if current is None else current
    ack = current_acknowledgement_settings()
    return render(request, "helpdesk/settings.html", {
        "form": form or ThresholdForm(initial={"confidence_threshold": current}), "current": current,
        "preview": threshold_preview(threshold=current),
        "ack_form": AcknowledgementForm(initial={"send_acknowledgements": ack.enabled,
                                                 "acknowledgement_suggestions": ack.suggestions}),
    }, status=status)


@require_POST
@requires(perms.TUNE_DESK)
def acknowledgement_settings(request):
    form = AcknowledgementForm(request.POST)
    form.is_valid()  # two checkboxes: every input is valid, an unchecked box is False
    set_acknowledgement_settings(enabled=form.cleaned_data.get("send_acknowledgements", False),
                                 suggestions=form.cleaned_data.get("acknowledgement_suggestions", False),
                                 user=request.user)
    messages.success(request, _("Acknowledgement settings saved."))
    return redirect("helpdesk:settings")


@require_GET
@requires(perms.TUNE_DESK)
def threshold_preview_fragment(request):
    form = ThresholdForm(request.GET)
    if not form.is_valid():
        return render(request, "helpdesk/_threshold_preview.html", {"errors": form.errors}, status=400)
    preview = threshold_preview(threshold=form.cleaned_data["confidence_threshold"])
    return render(request, "helpdesk/_threshold_preview.html", {"preview": preview})
