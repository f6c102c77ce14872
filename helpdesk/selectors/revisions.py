"""Reads of article revisions waiting for review."""

from __future__ import annotations

from django.db.models import QuerySet

from helpdesk.models import Article, ArticleRevision


def pending_revisions() -> QuerySet[ArticleRevision]:
    """Every revision waiting for review, most recently edited first, with article and author."""
    return (ArticleRevision.objects.filter(state=ArticleRevision.State.PENDING)
            .select_related("article", "author").order_by("-updated_at", "-id"))


def pending_revision(article: Article) -> ArticleRevision | None:
    """The article's revision waiting for review, if any."""
    return pending_revisions().filter(article=article).first()
