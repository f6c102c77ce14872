"""Review of edits to published articles: the waiting list, one revision beside the live text, publish, discard."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from helpdesk import permissions as perms
from helpdesk.models import ArticleRevision
from helpdesk.permissions import requires
from helpdesk.selectors.revisions import pending_revisions
from helpdesk.services.revisions import discard_revision, publish_revision


@require_GET
@requires(perms.READ_KB, perms.PUBLISH_KB)
def revision_list(request):
    return render(request, "helpdesk/kb_revisions.html", {"revisions": pending_revisions()})


@require_GET
@requires(perms.READ_KB, perms.PUBLISH_KB)
def revision_detail(request, pk: int):
    revision = get_object_or_404(ArticleRevision.objects.select_related("article", "author", "reviewed_by"), pk=pk)
    return render(request, "helpdesk/kb_revision.html", {"revision": revision, "live": revision.article})


@require_POST
@requires(perms.READ_KB, perms.PUBLISH_KB)
def revision_publish(request, pk: int):
    revision = get_object_or_404(ArticleRevision, pk=pk)
    try:
        article = publish_revision(revision=revision, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("helpdesk:kb-revision", pk=pk)
    messages.success(request, _("Published. The passages are being embedded again in the background."))
    return redirect("helpdesk:kb-edit", pk=article.pk)


@require_POST
@requires(perms.READ_KB, perms.PUBLISH_KB)
def revision_discard(request, pk: int):
    revision = get_object_or_404(ArticleRevision, pk=pk)
    try:
        discard_revision(revision=revision, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("helpdesk:kb-revision", pk=pk)
    messages.success(request, _("Revision discarded; the published text is unchanged."))
    return redirect("helpdesk:kb-revisions")
