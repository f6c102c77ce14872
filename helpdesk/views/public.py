"""The public help-center page of a published article: what customers open from an agent's reply."""

from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from helpdesk.models import Article


@require_GET
def article(request, pk: int):
    """Show a published article (drafts are 404, exactly like missing ones) with links to its translations."""
    shown = get_object_or_404(Article, pk=pk, status=Article.Status.PUBLISHED)
    translations = (Article.objects.filter(translation_group=shown.translation_group, status=Article.Status.PUBLISHED)
                    .exclude(pk=shown.pk).order_by("locale"))
    return render(request, "helpdesk/public_article.html", {"article": shown, "translations": translations})
