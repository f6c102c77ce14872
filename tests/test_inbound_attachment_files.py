"""A customer's attachment is on disk only while a committed row names it: when PostgreSQL refuses part of
the processing and the transaction rolls back, the files already written are removed again."""

from email.message import EmailMessage
from pathlib import Path

import pytest
from django.db import DatabaseError

from helpdesk.models import EmailAttachment, InboundEmail
from helpdesk.services.inbound_email import process_inbound, store_raw
from tests.inbound_support import mail_settings, refuse  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def with_attachments() -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Ines Moreau <ines@example.fr>", "support@acme.test", "Facture et photo"
    msg["Message-ID"] = "<facture-photo-1@example.fr>"
    msg.set_content("Bonjour, voici la facture et une photo du colis abîmé.")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="facture.pdf")
    msg.add_attachment(PNG, maintype="image", subtype="png", filename="colis.png")
    return msg.as_bytes()


def files_on_disk(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_files_written_before_a_failure_are_removed_and_written_again_on_reprocessing(mail_settings, refuse):
    refuse(EmailAttachment._meta.db_table, "NEW.filename = 'colis.png'", "attachment store is read-only")
    row, _ = store_raw(raw=with_attachments(), source="imap", queue=False)

    row = process_inbound(row.pk)

    assert row.state == "failed" and "attachment store is read-only" in row.error
    assert not EmailAttachment.objects.exists()
    assert files_on_disk(mail_settings) == []  # facture.pdf was written first, then removed

    refuse.drop()
    row = process_inbound(row.pk)
    assert row.state == "processed"
    stored = {a.filename: Path(a.file.path) for a in EmailAttachment.objects.all()}
    assert sorted(stored) == ["colis.png", "facture.pdf"]
    assert files_on_disk(mail_settings) == sorted(stored.values())
    assert stored["facture.pdf"].read_bytes() == PDF


def test_files_are_removed_when_the_whole_transaction_rolls_back(mail_settings, refuse):
    refuse(InboundEmail._meta.db_table, "NEW.state = 'processed'", "database is shutting down")
    row, _ = store_raw(raw=with_attachments(), source="imap", queue=False)

    with pytest.raises(DatabaseError, match="database is shutting down"):
        process_inbound(row.pk)  # the worker's task retries it later

    assert InboundEmail.objects.get(pk=row.pk).state == "stored"
    assert not EmailAttachment.objects.exists()
    assert files_on_disk(mail_settings) == []
