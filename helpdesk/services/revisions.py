"""Edits to published articles by people who may not publish: proposed, then published or discarded.

The article's live text, passages and vectors are untouched until `publish_revision`, which saves the
revision through `knowledge.save_article` (so the changed passages are re-embedded then, and only then).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.models import Article, ArticleRevision
from helpdesk.services.knowledge import save_article


def propose_revision(*, article: Article, title: str, body: str, locale: str, category: str, author
                     ) -> ArticleRevision:
    """Save an edit of `article` as its pending revision (creating it, or updating the one there is)."""
    with transaction.atomic():
        revision = (ArticleRevision.objects.select_for_update()
                    .filter(article=article, state=ArticleRevision.State.PENDING).first())
        if revision is None:
            revision = ArticleRevision(article=article)
        revision.title, revision.body = title.strip(), body.strip()
        revision.locale, revision.category, revision.author = locale, category, author
        revision.full_clean(exclude=["article"])
        revision.save()
    return revision


def publish_revision(*, revision: ArticleRevision, user) -> Article:
    """Make a pending revision the article's live text (passages re-embedded after commit)."""
    with transaction.atomic():
        revision = ArticleRevision.objects.select_for_update().select_related("article").get(pk=revision.pk)
        if revision.state != ArticleRevision.State.PENDING:
            raise ValidationError(_("This revision has already been reviewed."))
        try:
            with transaction.atomic():
                article = save_article(title=revision.title, body=revision.body, locale=revision.locale,
                                       category=revision.category, article=revision.article)
        except IntegrityError as exc:  # another translation of the group took this locale meanwhile
            raise ValidationError(_("This article already has a %(locale)s version.") % {"locale": revision.locale}
                                  ) from exc
        _close(revision, ArticleRevision.State.PUBLISHED, user)
    return article


def discard_revision(*, revision: ArticleRevision, user) -> ArticleRevision:
    """Drop a pending revision; the article stays as it is."""
    with transaction.atomic():
        revision = ArticleRevision.objects.select_for_update().get(pk=revision.pk)
        if revision.state != ArticleRevision.State.PENDING:
            raise ValidationError(_("This revision has already been reviewed."))
        _close(revision, ArticleRevision.State.DISCARDED, user)
    return revision


def _close(revision: ArticleRevision, state: str, user) -> None:
    revision.state, revision.reviewed_by, revision.reviewed_at = state, user, timezone.now()
    revision.save(update_fields=["state", "reviewed_by", "reviewed_at", "updated_at"])
