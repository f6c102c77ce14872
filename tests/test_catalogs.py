"""The shipped translation catalogs are complete, correct and current.

A customer must never meet an English word in a language we say we ship: every language in
settings.LANGUAGES has all of the widget's strings and every customer-facing string (emails, the
"this answered my question" page, the public article page); the dashboard is complete in
helpdesk.languages.DASHBOARD_COMPLETE. No entry is fuzzy, placeholders and markup match the English,
the compiled .mo and the widget's catalog.json say what the .po files say, and no visible text in a
template, a Python gettext call or the widget escapes the catalogs.
"""

from __future__ import annotations

import gettext
import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.utils.translation import to_locale

from helpdesk import catalogs, languages

ROOT = Path(__file__).resolve().parents[1]
CODES = [code for code, _ in settings.LANGUAGES if code != "en"]
# Entries whose references include one of these are read by customers.
CUSTOMER_SOURCES = ("mail_compose.py", "templates/helpdesk/email/", "templates/helpdesk/answered.html",
                    "templates/helpdesk/public_article.html")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w+\}")
MARKUP = re.compile(r"</?\w+")


def entries(code: str, domain: str) -> list[catalogs.Entry]:
    path = catalogs.po_path(code, domain)
    assert path.exists(), f"{path} is missing: run `python manage.py update_catalogs`"
    return catalogs.read_po(path)


def customer_facing(entry: catalogs.Entry) -> bool:
    return any(source in ref for ref in entry.references for source in CUSTOMER_SOURCES)


def label(entry: catalogs.Entry) -> str:
    return entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}|{entry.msgid}"


def test_at_least_30_languages_two_right_to_left_and_every_demo_language():
    codes = [code for code, _ in settings.LANGUAGES]
    demo = {locale for a in json.loads((ROOT / "helpdesk/demo/kb.json").read_text())["articles"]
            for locale in a["translations"]}
    assert len(codes) >= 30
    assert sum(languages.direction(c) == "rtl" for c in codes) >= 2
    assert {languages.shipped_language(tag) for tag in demo} <= set(codes)
    assert set(languages.DASHBOARD_COMPLETE) >= {"en", "es", "fr", "de", "ar", "ja"}


@pytest.mark.parametrize("code", CODES)
def test_no_fuzzy_or_missing_customer_string(code):
    problems = []
    for domain in ("django", "djangojs"):
        complete = domain == "djangojs" or code in languages.DASHBOARD_COMPLETE
        for entry in entries(code, domain):
            if entry.fuzzy:
                problems.append(f"{domain}: fuzzy: {label(entry)!r}")
            elif not entry.translated and (complete or customer_facing(entry)):
                problems.append(f"{domain}: untranslated: {label(entry)!r}")
    assert not problems, f"{code}: {len(problems)} entries to translate:\n" + "\n".join(problems)


@pytest.mark.parametrize("code", CODES)
def test_placeholders_and_markup_match_the_english(code):
    problems = []
    for domain in ("django", "djangojs"):
        for entry in entries(code, domain):
            if not entry.translated:
                continue
            for index, text in entry.msgstr.items():
                source = entry.msgid_plural if entry.msgid_plural and index else entry.msgid
                found, expected = Counter(PLACEHOLDER.findall(text)), Counter(PLACEHOLDER.findall(source))
                # A plural form may leave the count out ("تذكرتان", two tickets), never add a name.
                if found != expected and not (entry.msgid_plural and set(found) <= set(expected)):
                    problems.append(f"placeholders: {source!r} → {text!r}")
                if Counter(MARKUP.findall(text)) != Counter(MARKUP.findall(source)):
                    problems.append(f"markup: {source!r} → {text!r}")
    assert not problems, f"{code}:\n" + "\n".join(problems)


@pytest.mark.parametrize("code", CODES)
def test_compiled_catalog_says_what_the_po_says(code):
    mo = catalogs.po_path(code).with_suffix(".mo")
    assert mo.exists(), f"{mo} is missing: run `python manage.py compilemessages`"
    with mo.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = []
    for entry in entries(code, "django"):
        if not entry.translated or entry.fuzzy or entry.msgid_plural:
            continue
        got = (compiled.gettext(entry.msgid) if entry.msgctxt is None
               else compiled.pgettext(entry.msgctxt, entry.msgid))
        if got != entry.msgstr[0]:
            stale.append(label(entry))
    assert not stale, f"{mo} is older than its .po: run `python manage.py compilemessages` ({stale[:3]})"


def test_widget_catalog_is_generated_from_the_po_files():
    assert catalogs.WIDGET_CATALOG.read_text(encoding="utf-8") == catalogs.widget_catalog_json(), (
        "helpdesk/static/helpdesk/widget/catalog.json is stale: run `python manage.py build_widget_catalog`")
    catalog = json.loads(catalogs.WIDGET_CATALOG.read_text(encoding="utf-8"))
    assert set(catalog["languages"]) == {code for code, _ in settings.LANGUAGES}
    assert catalog["languages"]["ar"]["dir"] == "rtl" and catalog["languages"]["fr"]["dir"] == "ltr"
    assert catalog["messages"]["ja"]["Send"] == "送信"


def test_every_translatable_string_in_the_code_is_in_the_catalogs(tmp_path):
    """makemessages over a copy of the sources finds no msgid the shipped catalogs lack.

    Fails after strings are added or changed until `python manage.py update_catalogs` is run and the
    new entries are translated."""
    if not shutil.which("xgettext"):
        pytest.fail("GNU gettext is needed to extract strings: apt-get install gettext (.ci/run does)")
    for folder in ("helpdesk", "templates", "config"):
        shutil.copytree(ROOT / folder, tmp_path / folder,
                        ignore=shutil.ignore_patterns("locale", "migrations", "vendor", "__pycache__"))
    (tmp_path / "locale").mkdir()
    import os

    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with override_settings(LOCALE_PATHS=[str(tmp_path / "locale")]):
            for domain in ("django", "djangojs"):
                call_command("makemessages", locale=["xx"], domain=domain, verbosity=0,
                             ignore_patterns=["*/static/helpdesk/vendor/*"])
    finally:
        os.chdir(cwd)
    for domain in ("django", "djangojs"):
        extracted = {(e.msgctxt, e.msgid) for e in catalogs.read_po(tmp_path / "locale/xx/LC_MESSAGES" / f"{domain}.po")}
        shipped = {(e.msgctxt, e.msgid) for e in entries("fr", domain)}
        assert len(extracted) > 20
        missing = sorted(msgid for _, msgid in extracted - shipped)
        assert not missing, (f"{len(missing)} {domain} strings are not in the catalogs; run `python manage.py "
                             f"update_catalogs` and translate them: {missing[:10]}")


# --- visible template text outside {% translate %} / {% blocktranslate %} -------------------------
DJANGO_TAG = re.compile(r"{%.*?%}|{{.*?}}|{#.*?#}", re.S)
VISIBLE_ATTRIBUTE = re.compile(r'\b(?:title|alt|placeholder|aria-label|label)="([^"]*)"')
# Not the product's words: the product's name, acronyms that read the same in every language, and a
# stand-in for a customer's own web page (its text is the customer's, as on any real site).
ALLOWED = re.compile(r"^(?:[·#\s]*Polyglot Desk|[A-Z0-9@/.+-]+(?:\s[A-Z0-9@/.+-]+)*|[a-z]{2}(?:-[A-Za-z]{2,4})?)$")
NOT_PRODUCT_TEXT = {"helpdesk/widget_demo_host.html"}


def untranslated_text(source: str) -> list[str]:
    text = re.sub(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", " ", source, flags=re.S)
    text = re.sub(r"{%\s*blocktrans(?:late)?\b.*?{%\s*endblocktrans(?:late)?\s*%}", " ", text, flags=re.S)
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S | re.I)
    text = DJANGO_TAG.sub("  ", text)
    chunks = VISIBLE_ATTRIBUTE.findall(text) + re.split(r"\s{2,}|\n", re.sub(r"<[^>]*>", "  ", text))
    return [c.strip() for c in chunks if re.search(r"[^\W\d_]{2,}", c) and not ALLOWED.match(c.strip())]


def templates() -> list[tuple[str, Path]]:
    found = []
    for base in (ROOT / "helpdesk/templates", ROOT / "templates"):
        found += [(str(p.relative_to(base)), p) for p in sorted(base.rglob("*.html"))]
    return [(name, path) for name, path in found if name not in NOT_PRODUCT_TEXT]


def test_the_template_scan_catches_bare_text():
    assert untranslated_text("<p>Hello {{ name }}</p><button title=\"Close\">×</button>") == ["Close", "Hello"]
    assert untranslated_text('{% translate "Hello" %} <b>{{ n }}</b> {% blocktranslate %}Hi {{ n }}{% endblocktranslate %}') == []


@pytest.mark.parametrize("name, path", templates(), ids=[name for name, _ in templates()])
def test_no_visible_template_text_escapes_translation(name, path):
    assert untranslated_text(path.read_text(encoding="utf-8")) == []


def test_the_widget_shows_only_strings_from_its_catalog():
    """Every user-facing literal in widget.js is a gettext_noop msgid (the English table), so
    makemessages sees it; nothing else is assigned as visible text."""
    source = (ROOT / "helpdesk/static/helpdesk/widget/widget.js").read_text(encoding="utf-8")
    table = source[source.index("var EN = {"):source.index("};", source.index("var EN = {"))]
    keys = re.findall(r"(\w+): gettext_noop\(", table)
    assert len(keys) == len(set(keys)) >= 27
    assert re.findall(r"\w+: \"", table) == []  # no literal outside gettext_noop
    assert {k for k in re.findall(r'\bt\("(\w+)"', source)} <= set(keys)
    assert re.findall(r'text: "[^"]*[A-Za-z]{2}', source) == []
