"""Admin-only desk settings: the suggestion confidence threshold, with a preview of its effect."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from helpdesk import permissions as perms
from helpdesk.forms import ThresholdForm
from helpdesk.permissions import requires
from helpdesk.selectors.metrics import threshold_preview
from helpdesk.services.desk_settings import current_confidence_threshold, set_confidence_threshold


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
    return render(request, "helpdesk/settings.html", {
        "form": form, "current": current, "preview": threshold_preview(threshold=current),
    }, status=status)


@require_GET
@requires(perms.TUNE_DESK)
def threshold_preview_fragment(request):
    form = ThresholdForm(request.GET)
    if not form.is_valid():
        return render(request, "helpdesk/_threshold_preview.html", {"errors": form.errors}, status=400)
    preview = threshold_preview(threshold=form.cleaned_data["confidence_threshold"])
    return render(request, "helpdesk/_threshold_preview.html", {"preview": preview})
