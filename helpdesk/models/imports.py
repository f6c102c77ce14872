from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from helpdesk.models.knowledge import Article


class ImportJob(models.Model):
    """One knowledge-base upload: its files, its progress counters and its outcome."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    source = models.CharField(_("source"), max_length=300, blank=True, help_text=_("Upload form or command line"))
    publish = models.BooleanField(_("publish imported articles"), default=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    files_total = models.PositiveIntegerField(default=0)
    files_parsed = models.PositiveIntegerField(default=0)
    files_failed = models.PositiveIntegerField(default=0)
    articles_created = models.PositiveIntegerField(default=0)
    articles_updated = models.PositiveIntegerField(default=0)
    articles_unchanged = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    articles = models.ManyToManyField(Article, blank=True, related_name="imports")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Written by the task running the job after every batch it commits; a job left queued or running
    # with an old heartbeat (and no task holding its lock) is queued again by the sweep.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("export_knowledge_base", "Can export the knowledge base")]

    def __str__(self):
        return f"import #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class ImportFile(models.Model):
    """One file of an upload (or one member of an uploaded ZIP), with its own outcome and errors."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        EXPANDED = "expanded", _("Archive expanded")
        IMPORTED = "imported", _("Imported")
        FAILED = "failed", _("Failed")

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=1000, help_text=_("Path as uploaded, archive members as archive/path"))
    size = models.PositiveBigIntegerField(default=0)
    format = models.CharField(max_length=16, blank=True)
    # Uploads made before 0012 kept their bytes here; newer ones are stored as ImportFilePart rows.
    content = models.BinaryField(blank=True, default=b"")
    # A member of an uploaded ZIP is read from the archive when its turn comes (never copied out).
    archive = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="members")
    member = models.CharField(max_length=1000, blank=True, help_text=_("Path inside the archive"))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    records = models.PositiveIntegerField(default=0)
    # Records of this file already written (committed with them): a resumed import starts after them.
    records_done = models.PositiveIntegerField(default=0)
    articles_created = models.PositiveIntegerField(default=0)
    articles_updated = models.PositiveIntegerField(default=0)
    articles_unchanged = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["job_id", "id"]

    def __str__(self):
        return f"{self.name} ({self.status})"


class ImportFilePart(models.Model):
    """One piece (at most PART_BYTES) of an uploaded file's bytes, until the file is processed.

    In the database rather than on a disk: the worker may run on another machine than the web
    process, and pieces let both sides stream a 200 MB upload with a few MB of memory.
    """

    PART_BYTES = 1024 * 1024

    file = models.ForeignKey(ImportFile, on_delete=models.CASCADE, related_name="parts")
    seq = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        ordering = ["file_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["file", "seq"], name="helpdesk_importfilepart_seq")]
