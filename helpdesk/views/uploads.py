"""Admin pages for bringing a knowledge base in (uploads with live progress) and taking it out (export)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.core.files.uploadhandler import FileUploadHandler, StopUpload, TemporaryFileUploadHandler
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
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


# Multipart framing around the files (boundaries, part headers, the other fields) that the
# Content-Length may carry beyond the upload limit.
MULTIPART_ALLOWANCE = 64 * 1024


class UploadLimitHandler(FileUploadHandler):
    """Counts every uploaded file's bytes as they arrive and stops the upload at the first one over
    IMPORT_MAX_FILE_BYTES (a ZIP: IMPORT_MAX_UPLOAD_BYTES) or when all of them pass
    IMPORT_MAX_UPLOAD_BYTES, whatever the Content-Length said. The rest of the body is read and
    dropped, so the browser gets the form back with the reason."""

    def __init__(self, request=None):
        super().__init__(request)
        self.max_file, self.max_total = conf.get("IMPORT_MAX_FILE_BYTES"), conf.get("IMPORT_MAX_UPLOAD_BYTES")
        self.total = 0
        self.problem: str | None = None

    def new_file(self, field_name, file_name, *args, **kwargs):
        super().new_file(field_name, file_name, *args, **kwargs)
        self.file_bytes = 0
        self.limit = self.max_total if str(file_name).lower().endswith(".zip") else self.max_file

    def receive_data_chunk(self, raw_data, start):
        self.file_bytes += len(raw_data)
        self.total += len(raw_data)
        if self.file_bytes > self.limit:
            self.problem = gettext("%(name)s: over the %(limit)s-byte limit for one file") % {
                "name": self.file_name, "limit": f"{self.limit:,}"}
        elif self.total > self.max_total:
            self.problem = gettext("The upload is over the %(limit)s-byte limit.") % {"limit": f"{self.max_total:,}"}
        if self.problem:
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler (a temporary file on disk) holds the file


@csrf_exempt  # checked below, once the upload handlers are in place (reading POST reads the body)
@require_http_methods(["GET", "POST"])
@login_required
@permission_required(IMPORT_PERMISSION, raise_exception=True)
def upload(request):
    """The upload form. Files stream to temporary files on disk (never into memory), and an upload
    whose Content-Length is over the limit is refused before its body is read."""
    if request.method == "POST":
        declared = _content_length(request)
        if declared > conf.get("IMPORT_MAX_UPLOAD_BYTES") + MULTIPART_ALLOWANCE:
            form = _refused(gettext("The upload is %(size)s bytes, over the %(limit)s-byte limit.") % {
                "size": f"{declared:,}", "limit": f"{conf.get('IMPORT_MAX_UPLOAD_BYTES'):,}"})
            response = _render_form(request, form, status=413)
            response["Connection"] = "close"  # the unread body must not be taken for the next request
            return response
        limiter = UploadLimitHandler(request)
        request.upload_handlers = [limiter, TemporaryFileUploadHandler(request)]
        return _upload(request, limiter)
    return _upload(request, None)


def _refused(message: str) -> UploadForm:
    """The form, showing why the upload was refused (the files were never taken in)."""
    from django.forms.utils import ErrorDict

    form = UploadForm(data={}, files={})
    form.full_clean()
    form._errors = ErrorDict({"files": form.error_class([message])})
    return form


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


@csrf_protect
def _upload(request, limiter: UploadLimitHandler | None):
    form = UploadForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if limiter is not None and limiter.problem:
            form = _refused(limiter.problem)
        elif form.is_valid():
            try:
                job = start_import(
                    files=[(f.name, f) for f in form.cleaned_data["files"]], user=request.user,
                    publish=form.cleaned_data["publish"], source="upload",
                )
            except UploadRejected as exc:
                form.add_error("files", exc.messages)
            else:
                return redirect("helpdesk:kb-import-detail", pk=job.pk)
        status = 400
    return _render_form(request, form, status=status)


def _render_form(request, form, *, status: int):
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
