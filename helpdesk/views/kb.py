"""Knowledge-base pages for agents."""

from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, render

from helpdesk.models import Article


@login_required
@permission_required("helpdesk.view_article", raise_exception=True)
def article_detail(request, pk: int):
    article = get_object_or_404(Article, pk=pk)
    translations = Article.objects.filter(translation_group=article.translation_group).exclude(pk=pk)
    return render(request, "helpdesk/article_detail.html", {"article": article, "translations": translations})
