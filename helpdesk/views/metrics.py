"""The metrics page: deflection, acceptance, precision, languages, content gaps, pipeline health."""

from __future__ import annotations

from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from helpdesk import permissions as perms
from helpdesk.forms import PeriodForm
from helpdesk.models import Ticket
from helpdesk.permissions import requires
from helpdesk.selectors import metrics


@require_GET
@requires(perms.READ_METRICS)
def metrics_page(request):
    form = PeriodForm(request.GET or None)
    days, language = 30, ""
    if form.is_valid():
        days = form.cleaned_data["days"] or 30
        language = form.cleaned_data["language"].strip()
    p = metrics.period(days=days, language=language)
    figures = metrics.metrics_snapshot(p)
    widget = figures["widget"]
    overall = widget[""]
    over_time = figures["over_time"]
    # order_by() first: the model's default ordering would otherwise make DISTINCT return every row.
    languages = list(Ticket.objects.exclude(language="").order_by("language").values_list("language", flat=True)
                     .distinct())
    return render(request, "helpdesk/metrics.html", {
        "form": form, "period": p, "languages": languages,
        "widget": overall,
        "widget_by_language": [(lang, f) for lang, f in widget.items() if lang],
        "email": figures["email"],
        "self_service": figures["self_service"],
        "acceptance": figures["acceptance"],
        "precision": figures["precision"],
        "over_time": over_time,
        "gaps": figures["gaps"],
        "translation_gaps": figures.get("translation_gaps", []),  # a snapshot cached before it existed lacks it
        "pipeline": metrics.pipeline_health(p),
        "can_tune": request.user.has_perm(perms.TUNE_DESK),
        "chart_data": {
            "funnel": {"labels": [_("Asked a question"), _("Shown suggestions"), _("Opened an article"), _("Resolved")],
                       "values": [n for _name, n in overall.funnel]},
            "tickets": over_time,
        },
    })
