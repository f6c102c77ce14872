"""The public help-center page of a published article: what customers open from an agent's reply."""

from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_http_methods

from helpdesk.models import Article


@require_GET
def article(request, pk: int):
    """Show a published article (drafts are 404, exactly like missing ones) with links to its translations."""
    shown = get_object_or_404(Article, pk=pk, status=Article.Status.PUBLISHED)
    translations = (Article.objects.filter(translation_group=shown.translation_group, status=Article.Status.PUBLISHED)
                    .exclude(pk=shown.pk).order_by("locale"))
    return render(request, "helpdesk/public_article.html", {"article": shown, "translations": translations})


@require_http_methods(["GET", "POST"])
def answered(request, token: str):
    """An acknowledgement's "this answered my question" link.

    GET only asks (mail scanners and link previews fetch links; they must not close tickets); the
    page's button POSTs, which solves the ticket and records the email deflection. A forged, altered
    or expired link gets a 400 page and changes nothing. The page speaks the ticket's language.
    """
    from helpdesk.answer_links import LinkExpired, LinkInvalid, read_token
    from helpdesk.mail_compose import email_language
    from helpdesk.services import email_answers

    try:
        link = read_token(token)
        ticket, article = email_answers.answer_context(link)
    except LinkExpired:
        return _answer_page(request, "expired", language=None, status=400)
    except (LinkInvalid, email_answers.UnknownLink):
        return _answer_page(request, "invalid", language=None, status=400)
    language = email_language(ticket.language)
    if request.method == "POST":
        outcome = email_answers.record_email_deflection(link=link)
        state = {"solved": "thanks", "already": "thanks", "closed": "closed"}[outcome.outcome]
    elif email_answers.is_deflected(ticket):
        state = "thanks"
    else:
        state = "ask" if ticket.is_open else "closed"
    return _answer_page(request, state, language=language, ticket=ticket, article=article)


def _answer_page(request, state: str, *, language: str | None, status: int = 200, **context):
    from django.utils import translation
    from django.utils.translation import get_language

    with translation.override(language or get_language()):
        response = render(request, "helpdesk/answered.html", {"state": state, **context}, status=status)
    response["Cache-Control"] = "no-store"
    # The token must not leak to other sites; same-origin still lets the browser send the Origin that
    # CSRF checks on the POST (no-referrer makes Chromium send "Origin: null").
    response["Referrer-Policy"] = "same-origin"
    return response
