"""`manage.py import_kb PATH...`: the upload page's import, from the command line, with a progress bar."""

from __future__ import annotations

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from helpdesk.importers.sniffing import EXTENSIONS
from helpdesk.models import Chunk, ImportFile
from helpdesk.services import knowledge
from helpdesk.services.imports import UploadRejected, run_import, start_import


class Command(BaseCommand):
    help = "Import knowledge-base files (Markdown, HTML, text, CSV, JSON, PDF, DOCX, ZIP, or folders of them)."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="Files, folders (read recursively) or ZIP archives")
        parser.add_argument("--draft", action="store_true", help="Create new articles as drafts")
        parser.add_argument("--embed-here", action="store_true",
                            help="Embed the passages in this process instead of leaving them to the Celery worker")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar (for logs)")

    def handle(self, *args, paths=(), draft=False, embed_here=False, no_progress=False, **options):
        files = list(collect(paths, warn=self.stderr.write))
        if not files:
            raise CommandError("no importable files found (" + ", ".join(sorted(EXTENSIONS)) + ")")
        try:
            job = start_import(files=files, publish=not draft, source="command line", queue=False)
        except UploadRejected as exc:
            raise CommandError("\n".join(exc.messages)) from exc
        with tqdm(total=len(files), unit="file", desc="parse", disable=no_progress) as bar:
            def progress(current):
                bar.total = current.files_total
                bar.update(current.files_parsed - bar.n)
            job = run_import(job_id=job.id, on_progress=progress)
            progress(job)
        if embed_here:
            self.embed(job, no_progress)
        self.report(job)

    def embed(self, job, no_progress):
        pending = list(Chunk.objects.filter(article__imports=job, encoder="").order_by("id").values_list("id", flat=True))
        with tqdm(total=len(pending), unit="chunk", desc="embed", disable=no_progress) as bar:
            for start in range(0, len(pending), 256):
                batch = pending[start:start + 256]
                knowledge.embed_chunks(chunk_ids=batch)
                bar.update(len(batch))

    def report(self, job):
        self.stdout.write(
            f"import #{job.id}: {job.files_parsed} files ({job.files_failed} failed), "
            f"{job.articles_created} articles created, {job.articles_updated} updated, "
            f"{job.articles_unchanged} unchanged"
        )
        for file in job.files.filter(status=ImportFile.Status.FAILED).only("name", "errors"):
            self.stderr.write(f"  {file.name}: {'; '.join(file.errors)}")
        for file in job.files.filter(status=ImportFile.Status.IMPORTED).exclude(errors=[]).only("name", "errors"):
            self.stderr.write(f"  {file.name}: {'; '.join(file.errors)}")
        if job.files_failed:
            raise CommandError(f"{job.files_failed} of {job.files_parsed} files could not be imported")


def collect(paths, *, warn=None):
    """Yield (name, path) for every file given, folders walked in a stable order (hidden files skipped).

    A folder is never left: symbolic links inside it are followed only when they point at a file
    inside the same folder (a link to `../var/secret_key` would otherwise import a secret as an
    article agents can read), and linked folders are not entered. Files are not read here: the
    import copies them in pieces.
    """
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            root, found = path.resolve(), []
            for folder, dirs, names in os.walk(path, followlinks=False):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(names):
                    child = Path(folder) / name
                    if name.startswith(".") or child.suffix.lower() not in EXTENSIONS:
                        continue
                    target = child.resolve()
                    if not target.is_relative_to(root) or not target.is_file():
                        if warn:
                            warn(f"{child}: skipped, it leads outside {path}")
                        continue
                    found.append((str(Path(path.name) / child.relative_to(path)), target))
            yield from sorted(found)
        elif path.is_file():
            yield path.name, path
        else:
            raise CommandError(f"{raw}: no such file or folder")
