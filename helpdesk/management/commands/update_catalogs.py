"""Refresh every translation catalog after strings changed: the one command translators need.

For each language in settings.LANGUAGES (English is the source): makemessages for the Python and
template strings (domain "django") and the widget's strings (domain "djangojs"), then, once the new
entries are translated, compilemessages and the widget's JSON catalog. Needs GNU gettext
(`apt-get install gettext`).
"""

import os
from contextlib import contextmanager
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand

from helpdesk import languages
from helpdesk.catalogs import LOCALE_DIR

# Collected from the repository root: the app, and the project's own templates (the sign-in page).
IGNORE = ["helpdesk/static/helpdesk/vendor/*", "*/locale/*", "*/migrations/*", "tests/*", "bench/*", "docker/*",
          "var/*", "build/*", "dist/*", "screenshots/*"]


@contextmanager
def inside(path: Path):
    # makemessages collects from the working directory; every entry lands in LOCALE_PATHS[0]
    # (helpdesk/locale), the app's own and the project's templates alike.
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


class Command(BaseCommand):
    help = "makemessages (django + djangojs) for every shipped language, compilemessages, build_widget_catalog."

    def add_arguments(self, parser):
        parser.add_argument("--no-compile", action="store_true",
                            help="only extract: leave .mo files and the widget catalog as they are")

    def handle(self, *args, no_compile=False, **options):
        codes = [c for c in languages.shipped_codes() if c != "en"]
        from django.utils.translation import to_locale
        locales = [to_locale(c) for c in codes]
        with inside(LOCALE_DIR.parent.parent):
            call_command("makemessages", locale=locales, domain="django", ignore_patterns=IGNORE,
                         no_obsolete=True, verbosity=0)
            call_command("makemessages", locale=locales, domain="djangojs", ignore_patterns=IGNORE,
                         no_obsolete=True, verbosity=0)
            if not no_compile:
                call_command("compilemessages", locale=locales, verbosity=0)
        if not no_compile:
            call_command("build_widget_catalog")
        self.stdout.write(f"catalogs refreshed for {len(codes)} languages: translate the new empty or fuzzy "
                          "entries (`python -m pytest tests/test_catalogs.py` lists them), then run this again")
