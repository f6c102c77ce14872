"""Write the widget's JSON catalog from the djangojs .po files (or, with --check, say if it is stale)."""

from django.core.management.base import BaseCommand, CommandError

from helpdesk.catalogs import WIDGET_CATALOG, widget_catalog_json


class Command(BaseCommand):
    help = "Generate helpdesk/static/helpdesk/widget/catalog.json from helpdesk/locale/*/LC_MESSAGES/djangojs.po."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="fail if the file differs from the .po files")

    def handle(self, *args, check=False, **options):
        text = widget_catalog_json()
        current = WIDGET_CATALOG.read_text(encoding="utf-8") if WIDGET_CATALOG.exists() else ""
        if check:
            if current != text:
                raise CommandError(f"{WIDGET_CATALOG} is stale: run `python manage.py build_widget_catalog`")
            return
        WIDGET_CATALOG.write_text(text, encoding="utf-8")
        self.stdout.write(f"{WIDGET_CATALOG} written ({len(text.encode()):,} bytes)")
