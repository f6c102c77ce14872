"""Imports that finish and uploads that cannot hurt: batches that resume, a database connection cut
mid-import, the sweep for stranded jobs, embedding packed across articles, streamed uploads, zip
bombs made of small members, and `import_kb` kept inside its folder."""

from __future__ import annotations

import csv
import io
import zipfile

import psycopg
import pytest
from django.db import OperationalError, connection

from config import embedded
from helpdesk.importers import ImportFormatError
from helpdesk.importers import zip as zip_importer
from helpdesk.models import Article, Chunk, ImportFilePart, ImportJob
from helpdesk.selectors.imports import import_progress
from helpdesk.services import imports
from helpdesk.services.imports import run_import, start_import


def csv_bytes(rows: int, *, start: int = 0) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["external_id", "locale", "title", "body"])
    for n in range(start, start + rows):
        writer.writerow([f"row-{n}", "en", f"Question number {n}", f"Answer {n}: restart the router and wait."])
    return out.getvalue().encode()


def zip_of(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def embedding_batches(callbacks) -> list[list[int]]:
    """The chunk ids of each embedding task queued after commit (other callbacks left out)."""
    send = imports.knowledge._send_embed_task
    return [c.args[0] for c in callbacks if getattr(c, "func", None) is send]


# --- zip bombs -----------------------------------------------------------------------------------


def test_a_zip_of_many_small_highly_compressed_members_is_refused():
    # The case: 40 members of 1 MB each from a 47 KB archive.
    bomb = zip_of({f"kb/{n}.md": b"# T\n\n" + b"a" * (1024 * 1024) for n in range(40)})
    assert len(bomb) < 100_000
    with pytest.raises(ImportFormatError, match="over the ratio limit of 100 \\(zip bomb\\?\\)"):
        zip_importer.scan(io.BytesIO(bomb))


def test_the_archive_as_a_whole_is_held_to_the_ratio_when_each_member_is_small():
    bomb = zip_of({f"kb/{n}.md": b"# T\n\n" + b"a" * 60_000 for n in range(300)})  # each under the floor
    with pytest.raises(ImportFormatError, match="the archive unpacks to \\d+ times its size"):
        zip_importer.scan(io.BytesIO(bomb))


def test_small_repetitive_files_are_not_mistaken_for_bombs():
    table = b"title,body\n" + b"Same question,Same answer\n" * 1500  # 39 KB, compresses ~300x
    members = zip_importer.scan(io.BytesIO(zip_of({"faq.csv": table, "a.md": b"# A\n\nText."})))
    assert [(m.name, m.size) for m in members] == [("faq.csv", len(table)), ("a.md", 10)]


# --- import_kb stays in its folder ----------------------------------------------------------------


@pytest.mark.django_db
def test_import_kb_does_not_follow_a_symlink_out_of_the_folder(tmp_path):
    from django.core.management import call_command

    secret = tmp_path / "secret_key.md"
    secret.write_text("# Secret\n\nthe-secret-key-value")
    kb = tmp_path / "kb"
    (kb / "en").mkdir(parents=True)
    (kb / "en" / "a.md").write_text("# Resetting a password\n\nUse the link we email you.")
    (kb / "en" / "leak.md").symlink_to(secret)
    (kb / "outside").symlink_to(tmp_path, target_is_directory=True)
    (kb / "en" / "alias.md").symlink_to(kb / "en" / "a.md")  # inside the folder: fine

    err = io.StringIO()
    call_command("import_kb", str(kb), "--no-progress", stdout=io.StringIO(), stderr=err)

    assert sorted(Article.objects.values_list("title", flat=True)) == ["Resetting a password"]
    assert not Article.objects.filter(body__contains="the-secret-key-value").exists()
    assert "leak.md: skipped, it leads outside" in err.getvalue()


# --- uploads --------------------------------------------------------------------------------------


def admin_client(client):
    from django.contrib.auth.models import User

    from helpdesk.roles import ensure_roles

    _, admins = ensure_roles()
    user = User.objects.create_user("admin", password="a-long-test-password")
    user.groups.add(admins)
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_an_upload_declaring_more_than_the_limit_is_refused_before_its_body_is_read(client, settings):
    settings.HELPDESK = {**settings.HELPDESK, "IMPORT_MAX_UPLOAD_BYTES": 10_000}
    admin_client(client)
    body = io.BytesIO(b"# Small\n\nbody")
    body.name = "small.md"

    response = client.post("/desk/kb/import/", {"files": [body]}, CONTENT_LENGTH=str(50 * 1024 * 1024))

    assert response.status_code == 413
    assert "over the 10,000-byte limit" in response.content.decode()
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_an_uploaded_file_is_stored_in_pieces_and_imported_from_them(client, django_capture_on_commit_callbacks):
    admin_client(client)
    data = csv_bytes(9000)  # ~0.6 MB
    data += csv_bytes(9000, start=9000).split(b"\n", 1)[1]
    assert len(data) > imports.import_files.PART_BYTES
    upload = io.BytesIO(data)
    upload.name = "faq.csv"

    with django_capture_on_commit_callbacks():
        response = client.post("/desk/kb/import/", {"files": [upload], "publish": "on"})
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert ImportFilePart.objects.filter(file__job=job).count() == 2
    with django_capture_on_commit_callbacks():
        job = run_import(job_id=job.id)

    assert job.articles_created == Article.objects.count() == 18000
    assert not ImportFilePart.objects.exists()  # dropped once the import is done


# --- imports that finish --------------------------------------------------------------------------


@pytest.mark.django_db
def test_embedding_is_queued_in_batches_across_articles_bounded_by_count_and_tokens(
        settings, django_capture_on_commit_callbacks):
    settings.HELPDESK = {**settings.HELPDESK, "EMBED_TASK_CHUNKS": 64}
    with django_capture_on_commit_callbacks():
        job = start_import(files=[("faq.csv", csv_bytes(300))])
    with django_capture_on_commit_callbacks() as callbacks:
        run_import(job_id=job.id)

    batches = embedding_batches(callbacks)
    assert sorted(i for b in batches for i in b) == sorted(Chunk.objects.values_list("id", flat=True))
    assert [len(b) for b in batches] == [64, 64, 64, 64, 44]  # 300 one-passage articles

    settings.HELPDESK = {**settings.HELPDESK, "EMBED_TASK_TOKENS": 200}
    long_text = Chunk.objects.order_by("id").values_list("text", flat=True)[0]
    with django_capture_on_commit_callbacks() as callbacks:
        imports.knowledge.queue_batches(list(Chunk.objects.values_list("id", flat=True)))
    per_task = 200 // (len(long_text) // 3 + 2)
    assert max(len(b) for b in embedding_batches(callbacks)) <= max(per_task, 1)


@pytest.mark.django_db
def test_an_interrupted_import_resumes_after_its_last_batch_and_counts_what_exists(
        settings, django_capture_on_commit_callbacks):
    settings.HELPDESK = {**settings.HELPDESK, "IMPORT_BATCH_RECORDS": 100, "IMPORT_DB_RETRY_SECONDS": 0}
    with django_capture_on_commit_callbacks():
        job = start_import(files=[("faq.csv", csv_bytes(450))])

    def outage_after_two_batches(current):
        if current.articles_created >= 200:
            raise OperationalError("server closed the connection unexpectedly")

    with pytest.raises(OperationalError), django_capture_on_commit_callbacks():
        run_import(job_id=job.id, on_progress=outage_after_two_batches)

    progress = import_progress(job)
    assert (progress.job.status, progress.job.articles_created, Article.objects.count()) == ("running", 200, 200)
    assert progress.records_done_in_progress == 200 and 0 < progress.percent < 50
    assert imports.stranded_jobs(stale_seconds=0) == [job.id]  # no task holds it

    with django_capture_on_commit_callbacks():
        job = run_import(job_id=job.id)

    assert (job.status, job.articles_created, job.articles_unchanged) == ("done", 450, 0)
    assert Article.objects.count() == 450 == Article.objects.values("external_id").distinct().count()
    assert imports.stranded_jobs(stale_seconds=0) == []


@pytest.mark.django_db(transaction=True)
def test_an_import_whose_database_connection_is_cut_waits_and_finishes_with_each_article_once(settings):
    """A real cut: PostgreSQL terminates the import's session between two batches."""
    settings.HELPDESK = {**settings.HELPDESK, "IMPORT_BATCH_RECORDS": 100}
    imports.knowledge._broker_down_until = float("inf")  # no broker traffic from this test
    try:
        job = start_import(files=[("faq.csv", csv_bytes(350))], queue=False)
        cut = []

        def terminate_once(current):
            if not cut and current.articles_created >= 100:
                pid = connection.connection.info.backend_pid
                with psycopg.connect(embedded.database_url(connection.settings_dict), autocommit=True) as admin:
                    admin.execute("SELECT pg_terminate_backend(%s)", [pid])
                cut.append(pid)

        job = run_import(job_id=job.id, on_progress=terminate_once)
    finally:
        imports.knowledge._broker_down_until = 0.0

    assert cut and job.status == "done"
    assert (job.articles_created, Article.objects.count()) == (350, 350)
    assert Article.objects.values("external_id").distinct().count() == 350


@pytest.mark.django_db(transaction=True)
def test_the_sweep_requeues_a_stranded_job_but_not_one_a_task_is_running():
    from django.utils import timezone

    old = timezone.now() - timezone.timedelta(minutes=10)
    stranded = start_import(files=[("a.csv", csv_bytes(3))], queue=False)
    running = start_import(files=[("b.csv", csv_bytes(3))], queue=False)
    ImportJob.objects.filter(id__in=[stranded.id, running.id]).update(status="running", heartbeat_at=old)

    with psycopg.connect(embedded.database_url(connection.settings_dict), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [imports.LOCK_NAMESPACE, running.id])
        assert imports.stranded_jobs() == [stranded.id]

    from config.celery import app
    from tests.conftest import wait_until

    wait_until(lambda: not imports.is_held(running.id), timeout=10, message="the closed session's lock to go")
    try:
        assert imports.requeue_stranded() == [stranded.id, running.id]  # the lock went with its session
        assert imports.stranded_jobs() == []  # heartbeats moved on: not sent again at the next sweep
    finally:
        app.control.purge()
