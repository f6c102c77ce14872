"""Admin pages for bringing a knowledge base in (uploads with live progress) and taking it out (export)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from helpdesk import conf
from helpdesk.models import Article, ImportJob
from helpdesk.selectors.imports import import_progress, recent_imports
from helpdesk.services import exports
from helpdesk.services.imports import UploadRejected, check_upload_limits, start_import

IMPORT_PERMISSION = "helpdesk.add_importjob"
EXPORT_PERMISSION = "helpdesk.export_knowledge_base"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={
            "accept": ".md,.markdown,.html,.htm,.txt,.csv,.json,.pdf,.docx,.zip"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else [data]
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


class UploadForm(forms.Form):
    files = MultipleFileField(label=_("Files or a ZIP archive"))
    # Unticked by default: imported text is reviewed before customers see it (as in Zendesk Guide).
    publish = forms.BooleanField(label=_("Publish imported articles"), required=False, initial=False,
                                 help_text=_("Unticked, new articles are saved as drafts to review first. "
                                             "Front matter or a status column overrides this per article."))

    def clean_files(self):
        files = self.cleaned_data["files"]
        problems = check_upload_limits([(f.name, f.size) for f in files])
        if problems:
            raise forms.ValidationError(problems)
        return files


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(IMPORT_PERMISSION, raise_exception=True)
def upload(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                job = start_import(
                    files=[(f.name, f.read()) for f in form.cleaned_data["files"]], user=request.user,
                    publish=form.cleaned_data["publish"], source="upload",
                )
            except UploadRejected as exc:
                form.add_error("files", exc.messages)
            else:
                return redirect("helpdesk:kb-import-detail", pk=job.pk)
        status = 400
    context = {
        "form": form, "imports": recent_imports(),
        "max_file_mb": conf.get("IMPORT_MAX_FILE_BYTES") // (1024 * 1024),
        "max_upload_mb": conf.get("IMPORT_MAX_UPLOAD_BYTES") // (1024 * 1024),
    }
    return render(request, "helpdesk/upload_form.html", context, status=status)


@require_GET
@login_required
@permission_required(IMPORT_PERMISSION, raise_exception=True)
def upload_detail(request, pk: int):
    progress = import_progress(get_object_or_404(ImportJob, pk=pk))
    return render(request, "helpdesk/upload_detail.html", {"progress": progress})


@require_GET
@login_required
@permission_required(IMPORT_PERMISSION, raise_exception=True)
def upload_progress(request, pk: int):
    """The progress panel alone (polled by the page), or JSON with `Accept: application/json`."""
    progress = import_progress(get_object_or_404(ImportJob, pk=pk))
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse(progress.as_dict())
    return render(request, "helpdesk/upload_progress.html", {"progress": progress})


@require_GET
@login_required
@permission_required(EXPORT_PERMISSION, raise_exception=True)
def export(request):
    """GET ?format=json|csv[&status=published] → the knowledge base as a download."""
    fmt = request.GET.get("format", "json")
    status = request.GET.get("status") or None
    if fmt not in ("json", "csv") or (status and status not in Article.Status.values):
        return JsonResponse({"error": "format must be json or csv; status, if given, draft or published"}, status=400)
    body = exports.export_json(status=status) if fmt == "json" else exports.export_csv(status=status)
    content_type = "application/json" if fmt == "json" else "text/csv"
    response = HttpResponse(body, content_type=f"{content_type}; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="knowledge-base-{stamp}.{fmt}"'
    return response
