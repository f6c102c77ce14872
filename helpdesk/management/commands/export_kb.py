"""`manage.py export_kb [--format json|csv] [-o FILE]`: the knowledge base in a form `import_kb` reads back."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from helpdesk.models import Article
from helpdesk.services.exports import export_csv, export_json


class Command(BaseCommand):
    help = "Export every article (all locales) as JSON or CSV."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["json", "csv"], default="json")
        parser.add_argument("--status", choices=Article.Status.values, help="Only articles with this status")
        parser.add_argument("-o", "--output", help="File to write (default: standard output)")

    def handle(self, *args, format="json", status=None, output=None, **options):
        text = export_json(status=status) if format == "json" else export_csv(status=status)
        if output:
            Path(output).write_text(text, encoding="utf-8")
            self.stderr.write(f"wrote {output}")
        else:
            self.stdout.write(text, ending="")
