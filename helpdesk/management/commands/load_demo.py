"""Load the demo knowledge base, tickets, users and widget site (safe to run again)."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from helpdesk.models import Article, Ticket, WidgetSite
from helpdesk.roles import ensure_roles
from helpdesk.services.knowledge import save_article
from helpdesk.services.tickets import open_ticket, post_message

DEMO_FILE = Path(__file__).resolve().parents[2] / "demo" / "kb.json"
PRIORITIES = {"low": Ticket.Priority.LOW, "normal": Ticket.Priority.NORMAL,
              "high": Ticket.Priority.HIGH, "urgent": Ticket.Priority.URGENT}
DEMO_SITE = "Northwind Shop (demo)"


class Command(BaseCommand):
    help = "Load demo articles (7 languages), tickets, an agent and an admin login, and a widget site."

    def add_arguments(self, parser):
        parser.add_argument("--no-history", action="store_true", help="skip the generated weeks of metrics history")
        parser.add_argument("--no-email", action="store_true",
                            help="skip the demo email tickets (`make run` ingests them once the knowledge base is "
                                 "embedded, so their acknowledgements carry suggestions)")
        parser.add_argument("--widget-origin", action="append", default=[],
                            help="origin allowed to embed the demo widget (repeatable)")

    def handle(self, *args, **options):
        data = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
        created, updated = self._articles(data["articles"])
        tickets = self._tickets(data["tickets"])
        from helpdesk.demo.emails import load_demo_emails

        if not options["no_email"]:
            tickets += load_demo_emails()
        logins = self._users()
        site = self._widget_site(options["widget_origin"])
        history = {} if options["no_history"] else self._history()
        self.stdout.write(
            f"demo: {created} articles created, {updated} updated, {tickets} tickets added, "
            f"widget key {site.key}" + (f", history {history}" if history else "")
        )
        for username, password in logins.items():
            self.stdout.write(f"login: {username} / {password}")

    def _articles(self, articles) -> tuple[int, int]:
        created = updated = 0
        for entry in articles:
            group = None
            for locale, text in entry["translations"].items():
                external_id = f"demo:{entry['key']}:{locale}"
                article = Article.objects.filter(external_id=external_id).first()
                if article is not None and (article.title, article.body) == (text["title"], text["body"].strip()):
                    group = article.translation_group
                    continue
                is_new = article is None
                article = save_article(
                    article=article, title=text["title"], body=text["body"], locale=locale,
                    status=Article.Status.PUBLISHED, category=entry["category"], external_id=external_id,
                    translation_group=group if article is None else None,
                )
                group = article.translation_group
                created, updated = (created + 1, updated) if is_new else (created, updated + 1)
        return created, updated

    def _tickets(self, tickets) -> int:
        added = 0
        for entry in tickets:
            if Ticket.objects.filter(requester_email=entry["requester_email"], subject=entry["subject"]).exists():
                continue
            messages = entry["messages"]
            with transaction.atomic():
                ticket = open_ticket(
                    subject=entry["subject"], requester_email=entry["requester_email"],
                    requester_name=entry.get("requester_name", ""), body=messages[0]["body"],
                    priority=PRIORITIES.get(entry.get("priority", "normal"), Ticket.Priority.NORMAL),
                    channel=Ticket.Channel.EMAIL,
                )
                for message in messages[1:]:
                    post_message(ticket=ticket, author_kind=message["author"], body=message["body"])
            added += 1
        return added

    def _users(self) -> dict[str, str]:
        """Create the demo agent and admin once; their passwords live in var/demo-logins.json."""
        agents, admins = ensure_roles()
        store = Path(settings.VAR_DIR) / "demo-logins.json"
        logins = json.loads(store.read_text()) if store.exists() else {}
        for username, group, staff in (("agent", agents, False), ("admin", admins, True)):
            user = User.objects.filter(username=username).first()
            if user is None or username not in logins:
                logins[username] = secrets.token_urlsafe(9)
                user = user or User(username=username, email=f"{username}@example.com")
                user.set_password(logins[username])
                user.is_staff = staff
                user.save()
            user.groups.add(group)
        store.write_text(json.dumps(logins))
        store.chmod(0o600)
        return logins

    def _widget_site(self, origins: list[str]) -> WidgetSite:
        origins = origins or ["http://127.0.0.1:8001", "http://localhost:8001"]
        site, _ = WidgetSite.objects.get_or_create(name=DEMO_SITE, defaults={"default_locale": "en"})
        wanted = "\n".join(dict.fromkeys(site.origins + origins))
        if site.allowed_origins != wanted:
            site.allowed_origins = wanted
            site.save(update_fields=["allowed_origins"])
        return site

    def _history(self) -> dict:
        try:
            from helpdesk.demo.history import generate_history
        except ImportError:
            return {}
        from helpdesk.models import Event

        if Event.objects.filter(created_at__lt=timezone.now() - timedelta(days=2)).exists():
            return {}  # history was generated by an earlier run
        return generate_history()
