"""Knowledge-base pages for agents and admins: list, view, edit, translate, publish, coverage, drafts."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from embeddings.language import to_bcp47
from helpdesk import permissions as perms
from helpdesk.forms import ArticleForm
from helpdesk.models import Article, Message, Ticket
from helpdesk.permissions import requires
from helpdesk.selectors.metrics import article_embedding_state, translation_coverage
from helpdesk.services.knowledge import save_article, set_article_status


@require_GET
@requires(perms.READ_KB)
def article_list(request):
    qs = Article.objects.order_by("title", "locale")
    q = request.GET.get("q", "").strip()[:200]
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(body__icontains=q))
    locale = request.GET.get("locale", "").strip()[:35]
    if locale:
        qs = qs.filter(locale=locale)
    status = request.GET.get("status", "")
    if status in Article.Status.values:
        qs = qs.filter(status=status)
    page = Paginator(qs.only("id", "title", "locale", "status", "updated_at", "category"), 30).get_page(
        request.GET.get("page", 1))
    locales = Article.objects.order_by("locale").values_list("locale", flat=True).distinct()
    return render(request, "helpdesk/kb_list.html", {"page": page, "q": q, "locale": locale, "status": status,
                                                      "locales": locales, "statuses": Article.Status.choices})


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
    if request.method == "POST":
        form = ArticleForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            clash = group.get(data["locale"])
            if clash is not None and clash != target:
                form.add_error("locale", _("This article already has a %(locale)s version.") % {"locale": data["locale"]})
            else:
                article = save_article(title=data["title"], body=data["body"], locale=data["locale"], article=target,
                                       category=data["category"], translation_group=source.translation_group)
                messages.success(request, _("Saved. The passages are being embedded again in the background."))
                return redirect("helpdesk:kb-edit", pk=article.pk)
        status = 400
    else:
        initial = ({"title": target.title, "body": target.body, "locale": target.locale, "category": target.category}
                   if target else {"locale": target_locale, "category": source.category})
        form = ArticleForm(initial=initial)
        status = 200
    return render(request, "helpdesk/kb_edit.html", {
        "source": current, "origin": source, "compare": compare, "is_source": target == source, "target": target, "form": form, "group": sorted(group.values(), key=lambda a: a.locale),
        "embedding": article_embedding_state(target) if target else None,
        "can_publish": request.user.has_perm(perms.PUBLISH_KB),
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
