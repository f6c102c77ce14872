"""JSON endpoints for signed-in agents."""

from django.http import JsonResponse

from helpdesk import conf
from helpdesk import permissions as perms
from helpdesk.selectors.suggestions import MODES, find_suggestions
from helpdesk.views.json_api import json_endpoint


@json_endpoint("GET", perms=(perms.WORK_TICKETS,))
def suggest(request):
    """GET ?q=TEXT[&limit=N][&locale=TAG][&mode=hybrid|dense|lexical] → the best published articles for TEXT.

    Always answers JSON: 400 with an `error` for unusable parameters; 200 with an empty `results`
    and a `no_answer_reason` when nothing can be suggested (emoji only, no matching article).
    """
    text = request.GET.get("q", "")
    if not text.strip():
        return JsonResponse({"error": "the query parameter q is empty"}, status=400)
    if len(text) > conf.get("MAX_QUERY_CHARS"):
        return JsonResponse({"error": f"q is longer than {conf.get('MAX_QUERY_CHARS')} characters"}, status=400)
    try:
        limit = max(1, min(int(request.GET.get("limit", conf.get("SUGGESTION_LIMIT"))), 50))
    except ValueError:
        return JsonResponse({"error": "limit must be a whole number"}, status=400)
    mode = request.GET.get("mode", "hybrid")
    if mode not in MODES:
        return JsonResponse({"error": f"mode must be one of {', '.join(MODES)}"}, status=400)
    locale = (request.GET.get("locale") or "").strip()[:35] or None
    result = find_suggestions(text=text, limit=limit, locale=locale, mode=mode)
    return JsonResponse(result.as_dict())
