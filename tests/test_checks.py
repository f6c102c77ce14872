"""Misconfiguration is reported as system checks with stable ids, before anything breaks later."""

from __future__ import annotations

import subprocess
import sys
import uuid

import numpy as np
import psycopg
import pytest
from django.core.checks import run_checks

from embeddings.encoders import EncoderError, HashingEncoder
from helpdesk.models import Article, Chunk
from helpdesk.services.knowledge import embed_chunks, save_article
from tests.conftest import ROOT

PLAIN_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def _ids(messages):
    return [m.id for m in messages]


def test_check_is_clean_on_the_embedded_database(db):
    assert [m for m in run_checks() if m.id.startswith("helpdesk.E")] == []


def test_a_database_without_pgvector_gets_error_E001_naming_the_fix():
    """Uses the machine's own PostgreSQL (no pgvector) when there is one; the product never depends on it."""
    try:
        admin = psycopg.connect(PLAIN_POSTGRES, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        pytest.skip("no PostgreSQL without pgvector on 127.0.0.1:5432 to test against")
    with admin:
        if admin.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").fetchone():
            pytest.skip("the PostgreSQL on 127.0.0.1:5432 has pgvector")
        name = f"polyglot_check_{uuid.uuid4().hex[:8]}"
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            result = subprocess.run(
                [sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                env={**__import__("os").environ, "DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{name}",
                     "HF_HUB_OFFLINE": "1"},
            )
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    assert result.returncode == 1
    assert "helpdesk.E001" in result.stderr
    assert "Install pgvector" in result.stderr
    assert "Traceback" not in result.stderr


def test_vectors_too_large_to_index_get_error_E002_until_truncated(db, settings):
    settings.HELPDESK = {"ENCODER": "BAAI/bge-m3", "EMBEDDING_DIMENSIONS": 4096}
    (error,) = [m for m in run_checks() if m.id == "helpdesk.E002"]
    assert "4096" in error.msg and "EMBEDDING_DIMENSIONS" in error.hint

    settings.HELPDESK = {"ENCODER": "BAAI/bge-m3", "EMBEDDING_DIMENSIONS": 1024}
    assert "helpdesk.E002" not in _ids(run_checks())


def test_a_missing_language_model_file_gets_error_E004(db, settings, tmp_path):
    settings.HELPDESK = {"LANGUAGE_MODEL": str(tmp_path / "lid.176.bin")}
    (error,) = [m for m in run_checks() if m.id == "helpdesk.E004"]
    assert "lid.176.bin" in error.msg and "unset it" in error.hint

    (tmp_path / "lid.176.bin").write_bytes(b"")
    assert "helpdesk.E004" not in _ids(run_checks())


class LyingEncoder(HashingEncoder):
    """Claims 256 dimensions but returns 128: what a misconfigured custom encoder looks like."""

    def encode_documents(self, texts):
        return np.asarray(super().encode_documents(texts))[:, :128]


def test_wrong_vector_size_is_refused_with_a_clear_error_and_nothing_written(db):
    article = save_article(title="Billing address", body="Change it under Billing.", locale="en",
                           status=Article.Status.PUBLISHED)
    ids = list(article.chunks.values_list("id", flat=True))

    with pytest.raises(EncoderError, match="declares 256 dimensions but returned an array of shape"):
        embed_chunks(chunk_ids=ids, encoder=LyingEncoder(256))

    chunk = Chunk.objects.get(id=ids[0])
    assert chunk.embedding is None and chunk.encoder == ""
    assert "declares 256 dimensions" in chunk.embed_error and chunk.embed_attempts == 1


def test_chunks_from_another_encoder_are_flagged_W001(db, settings):
    article = save_article(title="Two-factor codes", body="Codes expire after 30 seconds.", locale="en")
    embed_chunks(chunk_ids=list(article.chunks.values_list("id", flat=True)), encoder=HashingEncoder(64))
    settings.HELPDESK = {"ENCODER": "hashing:128"}
    (warning,) = [m for m in run_checks(databases=["default"]) if m.id == "helpdesk.W001"]
    assert "1 chunks" in warning.msg
