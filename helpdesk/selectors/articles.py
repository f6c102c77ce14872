"""Reads: the knowledge base as agents think of it: articles with their translations, by category."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby

from django.core.paginator import Page, Paginator
from django.db.models import Q

from helpdesk.models import Article


@dataclass
class ArticleGroup:
    """One article in all its languages: `source` is the first written, `shown` the one in the
    reader's language when it exists (else the source), `translations` every member, source first."""

    source: Article
    shown: Article
    translations: list[Article] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # locales of the knowledge base this article lacks

    @property
    def category(self) -> str:
        return self.source.category

    @property
    def updated_at(self):
        return max(a.updated_at for a in self.translations)


@dataclass
class CategorySection:
    category: str
    groups: list[ArticleGroup]


def article_groups(*, q: str = "", locale: str = "", status: str = "", reader_language: str = "",
                   page: int | str = 1, per_page: int = 25) -> tuple[Page, list[CategorySection]]:
    """One page of translation groups matching the filters, ordered by category then title, and the
    page's groups split into category sections. A group matches when any of its translations does
    (a search in Spanish finds the article whose English source is listed)."""
    matching = Article.objects.all()
    if q:
        matching = matching.filter(Q(title__icontains=q) | Q(body__icontains=q))
    if locale:
        matching = matching.filter(locale=locale)
    if status in Article.Status.values:
        matching = matching.filter(status=status)
    group_ids = set(matching.values_list("translation_group", flat=True))
    members = (Article.objects.filter(translation_group__in=group_ids).order_by("created_at", "id")
               .only("id", "title", "locale", "status", "category", "translation_group", "created_at", "updated_at"))
    by_group: dict = {}
    for article in members:
        by_group.setdefault(article.translation_group, []).append(article)
    reader = (reader_language or "").lower()
    kb_locales = sorted(set(Article.objects.order_by().values_list("locale", flat=True).distinct()))
    groups = []
    for articles in by_group.values():
        source = articles[0]
        shown = next((a for a in articles if a.locale.lower() == reader), None) or next(
            (a for a in articles if a.locale.lower().split("-")[0] == reader.split("-")[0]), source)
        have = {a.locale for a in articles}
        groups.append(ArticleGroup(source=source, shown=shown, translations=articles,
                                   missing=[loc for loc in kb_locales if loc not in have]))
    # Uncategorised articles last; within a category by the title the reader sees.
    groups.sort(key=lambda g: (not g.category, g.category.lower(), g.shown.title.lower()))
    page_obj = Paginator(groups, per_page).get_page(page)
    sections = [CategorySection(category=category, groups=list(items))
                for category, items in groupby(page_obj.object_list, key=lambda g: g.category)]
    return page_obj, sections
