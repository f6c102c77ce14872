"""Knowledge-base pages for agents and admins: list, view, edit, translate, publish, coverage, drafts.

Edits to a published article by someone without the publish permission become its pending revision
(`services.revisions`); `views.revisions` is where it is reviewed.
"""

from __future__ import annotations

from django.contrib import messages

from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language, gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from embeddings.language import to_bcp47
from helpdesk import permissions as perms
from helpdesk.forms import ArticleForm
from helpdesk.models import Article, Message, Ticket
from helpdesk.permissions import requires
from helpdesk.selectors.articles import article_groups
from helpdesk.selectors.metrics import article_embedding_state, translation_coverage
from helpdesk.selectors.revisions import pending_revision, pending_revisions
from helpdesk.services.knowledge import save_article, set_article_status
from helpdesk.services.revisions import propose_revision


@require_GET
@requires(perms.READ_KB)
def article_list(request):
    """Articles with their translations, by category (agents think in articles, not in rows per language)."""
    q = request.GET.get("q", "").strip()[:200]
    locale = request.GET.get("locale", "").strip()[:35]
    status = request.GET.get("status", "")
    page, sections = article_groups(q=q, locale=locale, status=status, reader_language=get_language() or "",
                                    page=request.GET.get("page", 1))
    locales = Article.objects.order_by("locale").values_list("locale", flat=True).distinct()
    waiting = pending_revisions().count() if request.user.has_perm(perms.PUBLISH_KB) else 0
    return render(request, "helpdesk/kb_list.html", {"page": page, "sections": sections, "q": q, "locale": locale,
                                                      "status": status, "locales": locales,
                                                      "statuses": Article.Status.choices,
                                                      "revisions_waiting": waiting})


@require_GET
@requires(perms.READ_KB)
def article_detail(request, pk: int):
    article = get_object_or_404(Article, pk=pk)
    translations = Article.objects.filter(translation_group=article.translation_group).exclude(pk=pk)
    return render(request, "helpdesk/article_detail.html", {
        "article": article, "translations": translations, "embedding": article_embedding_state(article),
    })


@require_GET
@requires(perms.READ_KB)
def embedding_state(request, pk: int):
    """Fragment polled by the editor until the article's passages are embedded (or failed)."""
    article = get_object_or_404(Article, pk=pk)
    return render(request, "helpdesk/_embedding_state.html", {"article": article,
                                                              "embedding": article_embedding_state(article)})


@require_http_methods(["GET", "POST"])
@requires(perms.READ_KB, perms.EDIT_KB)
def article_edit(request, pk: int):
    """Edit an article beside its translations; `?locale=xx` edits (or starts) the translation into xx."""
    current = get_object_or_404(Article, pk=pk)
    members = list(Article.objects.filter(translation_group=current.translation_group).order_by("created_at", "id"))
    group = {a.locale: a for a in members}
    source = members[0]  # the group's first article is the source translations follow
    target_locale = to_bcp47(request.GET.get("locale", "") or current.locale)
    target = group.get(target_locale)
    # Beside the editor: the source, or (when editing the source) its first translation.
    compare = source if target != source else next((a for a in members if a != source), None)
    can_publish = request.user.has_perm(perms.PUBLISH_KB)
    pending = pending_revision(target) if target is not None else None
    if request.method == "POST":
        form = ArticleForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            clash = group.get(data["locale"])
            if clash is not None and clash != target:
                form.add_error("locale", _("This article already has a %(locale)s version.") % {"locale": data["locale"]})
            elif target is not None and target.is_published and not request.user.has_perm(perms.PUBLISH_KB):
                # Customers see published text: without the publish permission an edit waits for review.
                propose_revision(article=target, title=data["title"], body=data["body"], locale=data["locale"],
                                 category=data["category"], author=request.user)
                messages.success(request, _("Saved for review. Customers keep seeing the published text until "
                                            "an admin publishes your edit."))
                return redirect("helpdesk:kb-edit", pk=target.pk)
            else:
                article = save_article(title=data["title"], body=data["body"], locale=data["locale"], article=target,
                                       category=data["category"], translation_group=source.translation_group)
                messages.success(request, _("Saved. The passages are being embedded again in the background."))
                return redirect("helpdesk:kb-edit", pk=article.pk)
        status = 400
    else:
        # Someone who may not publish goes on editing the pending revision, if there is one.
        shown = pending if pending is not None and not can_publish else target
        initial = ({"title": shown.title, "body": shown.body, "locale": shown.locale, "category": shown.category}
                   if target else {"locale": target_locale, "category": source.category})
        form = ArticleForm(initial=initial)
        status = 200
    return render(request, "helpdesk/kb_edit.html", {
        "source": current, "origin": source, "compare": compare, "is_source": target == source, "target": target, "form": form, "group": sorted(group.values(), key=lambda a: a.locale),
        "embedding": article_embedding_state(target) if target else None,
        "can_publish": can_publish, "pending": pending,
    }, status=status)


@require_POST
@requires(perms.READ_KB, perms.PUBLISH_KB)
def article_status(request, pk: int):
    article = get_object_or_404(Article, pk=pk)
    status = request.POST.get("status")
    if status not in Article.Status.values:
        return HttpResponseBadRequest(_("Unknown status."))
    set_article_status(article=article, status=status)
    messages.success(request, _("Published.") if status == Article.Status.PUBLISHED else _("Unpublished."))
    return redirect("helpdesk:kb-edit", pk=article.pk)


@require_http_methods(["GET", "POST"])
@requires(perms.READ_KB, perms.DRAFT_KB)
def article_new(request):
    """A new draft article, pre-filled from a solved ticket (`?ticket=`) or a content gap (`?title=&body=`)."""
    if request.method == "POST":
        form = ArticleForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            article = save_article(title=d["title"], body=d["body"], locale=d["locale"], category=d["category"],
                                   status=Article.Status.DRAFT)
            messages.success(request, _("Draft saved."))
            return redirect("helpdesk:kb-edit", pk=article.pk)
        return render(request, "helpdesk/kb_new.html", {"form": form}, status=400)
    return render(request, "helpdesk/kb_new.html", {"form": ArticleForm(initial=_draft_initial(request.GET))})


def _draft_initial(params) -> dict:
    ticket_id = params.get("ticket", "")
    if ticket_id.isdigit():
        ticket = Ticket.objects.filter(pk=int(ticket_id)).first()
        if ticket is not None:
            conversation = (ticket.messages.exclude(author_kind=Message.Author.SYSTEM)
                            .filter(visibility=Message.Visibility.PUBLIC).order_by("created_at", "id"))
            question = [m.body for m in conversation if m.author_kind == Message.Author.CUSTOMER][:1]
            answers = [m.body for m in conversation if m.author_kind == Message.Author.AGENT]
            body = "\n\n".join(question + answers)
            return {"title": ticket.subject, "body": body, "locale": ticket.language or "en"}
    return {"title": params.get("title", "")[:300], "body": params.get("body", "")[:20000],
            "locale": params.get("locale", "")[:35] or "en"}


@require_GET
@requires(perms.READ_KB)
def coverage(request):
    locales, rows = translation_coverage()
    return render(request, "helpdesk/kb_coverage.html", {"locales": locales, "rows": rows})
