"""Importers: each format read from real fixture files, content sniffing, ZIP safety, HTML cleaning."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import pytest

from helpdesk.importers import ImportFormatError, detect_format, parse_file
from helpdesk.importers import zip as zip_importer
from helpdesk.importers.cleaning import html_to_text

FIXTURES = Path(__file__).parent / "fixtures" / "imports"


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def make_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_markdown_front_matter_gives_metadata_and_raw_html_is_dropped():
    [record] = parse_file("en/reset-password.md", read("markdown/en/reset-password.md"))

    assert (record.title, record.locale, record.external_id, record.category, record.translation_key) == (
        "Reset a forgotten password", "en", "kb-reset-password", "Account", "reset-password")
    assert record.body.startswith("If you forgot your password, open the sign-in page and choose Forgot password.")
    assert "1. Enter the email address of your account.\n2. Open the email" in record.body
    assert "alert" not in record.body and "<" not in record.body


def test_markdown_without_front_matter_takes_the_heading_as_title_and_leaves_locale_to_detection():
    [record] = parse_file("track-order.md", read("markdown/en/track-order.md"))

    assert record.title == "Track your order"
    assert record.locale is None and record.external_id is None
    assert not record.body.startswith("#")


def test_help_center_html_export_gives_one_record_per_article_with_data_attributes():
    records = parse_file("helpcenter.html", read("helpcenter.html"))

    assert [(r.title, r.locale, r.external_id, r.translation_key, r.category) for r in records] == [
        ("When will I get my refund?", "en", "hc-360001", "refund-timing", "Billing"),
        ("Quand vais-je recevoir mon remboursement ?", "fr", "hc-360001", "refund-timing", "Billing"),
    ]
    assert records[0].body == (
        "Refunds go back to the original payment method. Card refunds take 5 to 10 business days to appear "
        "on your statement.\n\nBank transfers can take up to 14 days.\n\n- Cards: 5 to 10 days\n"
        "- Bank transfer: up to 14 days"
    )


def test_single_html_page_uses_meta_tags_and_html_lang():
    page = (b'<html lang="it"><head><title>Spedizione</title><meta name="external-id" content="it-7"></head>'
            b"<body><p>La spedizione \xc3\xa8 gratuita sopra i 50 euro.</p></body></html>")
    [record] = parse_file("spedizione.html", page)

    assert (record.title, record.locale, record.external_id) == ("Spedizione", "it", "it-7")
    assert record.body == "La spedizione è gratuita sopra i 50 euro."


def test_xhtml_with_an_encoding_declaration_and_empty_html_are_handled():
    xhtml = ('<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml" lang="de">'
             "<body><h1>Versand</h1><p>Der Versand ist kostenlos.</p></body></html>").encode()
    [record] = parse_file("versand.xhtml.html", xhtml)
    assert (record.title, record.locale, record.body) == ("Versand", "de", "Der Versand ist kostenlos.")
    with pytest.raises(ImportFormatError):
        parse_file("empty.html", b"   ")


def test_csv_columns_map_to_fields_and_html_bodies_are_cleaned():
    records = parse_file("faq.csv", read("faq.csv"))
    assert [(r.locale, r.external_id, r.translation_key) for r in records] == [
        ("en", "faq-1", "delivery-address"), ("pt-BR", "faq-1", "delivery-address"),
        ("en", "faq-2", "cancel-subscription"), ("es", "faq-2", "cancel-subscription"),
    ]
    [record] = parse_file("x.csv", b'question;answer\nWhy?;"<p>Because <img src=x onerror=alert(1)>it is.</p>"\n')
    assert (record.title, record.body) == ("Why?", "Because it is.")


def test_csv_with_a_bad_row_fails_as_a_whole_naming_the_row():
    with pytest.raises(ImportFormatError, match=r"^row 3: expected 4 columns, found 6$"):
        parse_file("bad_row.csv", read("broken/bad_row.csv"))
    with pytest.raises(ImportFormatError, match="no body column"):
        parse_file("x.csv", b"title,notes\nA,B\n")
    with pytest.raises(ImportFormatError, match="row 3: the body is empty"):
        parse_file("x.csv", b"title,body\nA,fine\nB,\n")


def test_json_accepts_flat_lists_and_grouped_translations():
    flat = b'[{"title": "A", "body": "Alpha text", "locale": "en", "id": 7}]'
    [record] = parse_file("a.json", flat)
    assert (record.title, record.external_id) == ("A", "7")

    grouped = (b'{"articles": [{"key": "k1", "category": "c", "translations": {'
               b'"en": {"title": "Hello", "body": "Hello there"}, "de": {"title": "Hallo", "body": "Hallo du"}}}]}')
    records = parse_file("kb.json", grouped)
    assert [(r.locale, r.title, r.translation_key, r.category) for r in records] == [
        ("en", "Hello", "k1", "c"), ("de", "Hallo", "k1", "c")]


def test_json_with_half_a_surrogate_pair_still_gives_storable_text():
    # "\\ud83d" alone is valid JSON but not text: PostgreSQL (UTF-8) would refuse the whole article.
    [record] = parse_file("a.json", b'[{"title": "Refunds \\ud83d", "body": "Within 5 days \\udc4d.", "locale": "en"}]')
    assert (record.title, record.body) == ("Refunds ?", "Within 5 days ?.")


def test_malformed_json_reports_where():
    with pytest.raises(ImportFormatError, match="invalid JSON at line 1, column 12"):
        parse_file("a.json", b'[{"title": }]')
    with pytest.raises(ImportFormatError, match="record 2: expected an object"):
        parse_file("a.json", b'[{"title": "a", "body": "b"}, 3]')


def test_text_pdf_gives_its_title_and_text_and_a_truncated_one_is_refused():
    [record] = parse_file("guide.pdf", read("guide.pdf"))
    assert (record.title, record.locale) == ("Return an item", "en")
    assert record.body.splitlines()[-1] == "We refund you as soon as the parcel reaches our warehouse."

    with pytest.raises(ImportFormatError, match="the PDF is truncated"):
        parse_file("truncated.pdf", read("broken/truncated.pdf"))


def test_docx_gives_title_and_paragraphs():
    document = docx.Document()
    document.core_properties.title = "Loyalty points"
    document.core_properties.language = "en-GB"
    document.add_heading("Loyalty points", 1)
    document.add_paragraph("You earn one point for every pound you spend.")
    document.add_paragraph("Points expire after two years.")
    buffer = io.BytesIO()
    document.save(buffer)

    [record] = parse_file("points.docx", buffer.getvalue())

    assert (record.title, record.locale) == ("Loyalty points", "en-GB")
    assert record.body == "You earn one point for every pound you spend.\n\nPoints expire after two years."


@pytest.mark.parametrize("name, data, message", [
    ("setup.md", read("broken/setup.md"), "named .md but its content is a Windows executable, not Markdown"),
    ("guide.md", read("guide.pdf"), "named .md but its content is a PDF document, not Markdown"),
    ("notes.pdf", b"just text", "named .pdf but its content is text, not a PDF document"),
    ("kb.zip", b"%PDF-1.4 not a zip", "named .zip but its content is a PDF document"),
    ("doc.docx", make_zip({"a.txt": b"x"}), "named .docx but its content is a ZIP archive"),
    ("latin1.txt", "Caf\u00e9 cr\u00e8me".encode("latin-1") + b" and more text here", "not UTF-8 text"),
    ("tool.exe", b"MZ\x90\x00", "unsupported file type '.exe'"),
    ("empty.md", b"", "the file is empty"),
])
def test_content_that_contradicts_the_extension_is_refused(name, data, message):
    with pytest.raises(ImportFormatError, match=message.replace(".", r"\.").replace("(", r"\(")):
        detect_format(name, data)


def test_zip_expands_the_fixture_archive_without_touching_the_disk():
    members = zip_importer.expand(read("all.zip"))
    assert sorted(m.name for m in members) == sorted([
        "markdown/de/reset-password.md", "markdown/en/reset-password.md", "markdown/en/track-order.md",
        "markdown/es/reset-password.md", "helpcenter.html", "faq.csv", "guide.pdf"])
    assert next(m for m in members if m.name == "faq.csv").data == read("faq.csv")


@pytest.mark.parametrize("member", ["../../outside.md", "/etc/passwd.md", "kb/../../x.md", "C:/Windows/x.md", "..\\x.md"])
def test_zip_with_paths_outside_the_archive_is_refused(member):
    with pytest.raises(ImportFormatError, match="paths outside the archive are not allowed"):
        zip_importer.expand(make_zip({"ok.md": b"# ok\n\nfine", member: b"# bad\n\nbad"}))


def test_zip_with_a_symlink_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("kb/link.md")
        link.external_attr = (0o120777 << 16)
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(ImportFormatError, match="symbolic links are not allowed"):
        zip_importer.expand(buffer.getvalue())


def test_zip_bomb_is_refused_by_its_size_and_a_lying_header_by_reading(settings):
    with pytest.raises(ImportFormatError, match="unpacks to 67108864 bytes, over the 20971520-byte limit"):
        zip_importer.expand(read("broken/bomb.zip"))

    # A header that understates the size: reading stops at the declared size and the CRC check fails.
    data = bytearray(make_zip({"kb/huge.md": b"\0" * (3 * 1024 * 1024)}))
    for marker, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # local and central "uncompressed size"
        at = data.find(marker)
        data[at + offset: at + offset + 4] = (100).to_bytes(4, "little")
    settings.HELPDESK = {**settings.HELPDESK, "IMPORT_MAX_FILE_BYTES": 1024 * 1024}
    with pytest.raises(ImportFormatError, match="kb/huge.md: cannot be unpacked: Bad CRC-32"):
        zip_importer.expand(bytes(data))


def test_zip_with_too_many_members_is_refused(settings):
    settings.HELPDESK = {**settings.HELPDESK, "IMPORT_MAX_ARCHIVE_MEMBERS": 3}
    with pytest.raises(ImportFormatError, match="the archive has 4 members; at most 3 are accepted"):
        zip_importer.expand(make_zip({f"{i}.md": b"# t\n\nb" for i in range(4)}))


def test_archives_inside_archives_are_not_followed():
    with pytest.raises(ImportFormatError, match="archives inside archives are not supported"):
        parse_file("inner.zip", make_zip({"a.md": b"# a\n\nb"}))


def test_html_cleaning_removes_scripts_handlers_and_embeds_with_their_content():
    html = ('<h2>Title</h2><p onmouseover="x()">Keep <a href="javascript:evil()">this</a></p>'
            '<script>evil()</script><style>p{}</style><iframe src="https://x.example">fallback</iframe>'
            '<object data="a.swf">obj</object><ol><li>one</li><li>two</li></ol>')
    assert html_to_text(html) == "Title\n\nKeep this\n\n1. one\n2. two"
