"""JSON endpoints for signed-in agents."""

from django.contrib.auth.decorators import login_required, permission_required
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from helpdesk import conf
from helpdesk.selectors.suggestions import suggest_articles


@require_GET
@login_required
@permission_required("helpdesk.view_ticket", raise_exception=True)
def suggest(request):
    """GET ?q=TEXT[&limit=N][&locale=TAG] → the best published articles for TEXT."""
    text = request.GET.get("q", "").strip()
    if not text:
        return JsonResponse({"error": "the query parameter q is empty"}, status=400)
    if len(text) > conf.get("MAX_QUERY_CHARS"):
        return JsonResponse({"error": f"q is longer than {conf.get('MAX_QUERY_CHARS')} characters"}, status=400)
    try:
        limit = max(1, min(int(request.GET.get("limit", conf.get("SUGGESTION_LIMIT"))), 50))
    except ValueError:
        return JsonResponse({"error": "limit must be a whole number"}, status=400)
    results = suggest_articles(text=text, limit=limit, locale=request.GET.get("locale") or None)
    return JsonResponse({"query": text, "results": [r.as_dict() for r in results]})
