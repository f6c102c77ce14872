"""Process stored inbound mail again: failed messages (after a fix), or ignored ones an admin vouches for.

    python manage.py reprocess_email 12 15        # these messages, past the screening rules
    python manage.py reprocess_email --failed     # every failed message
    python manage.py reprocess_email --stored     # every message still waiting (no worker ran)
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from helpdesk.models import InboundEmail
from helpdesk.services.inbound_email import process_inbound, reprocess_inbound


class Command(BaseCommand):
    help = "Process stored inbound mail again (by id, every failed one, or every one still waiting)."

    def add_arguments(self, parser):
        parser.add_argument("ids", nargs="*", type=int)
        parser.add_argument("--failed", action="store_true", help="every failed message")
        parser.add_argument("--stored", action="store_true", help="every message not processed yet")

    def handle(self, *args, ids=(), failed=False, stored=False, **options):
        if not (ids or failed or stored):
            raise CommandError("give message ids, --failed or --stored")
        done: dict[str, int] = {}
        targets = [(pk, reprocess_inbound) for pk in ids]
        states = [s for s, wanted in ((InboundEmail.State.FAILED, failed), (InboundEmail.State.STORED, stored)) if wanted]
        for pk in InboundEmail.objects.filter(state__in=states).order_by("id").values_list("id", flat=True):
            targets.append((pk, process_inbound))
        for pk, process in targets:
            if not InboundEmail.objects.filter(pk=pk).exists():
                raise CommandError(f"no inbound message #{pk}")
            row = process(pk)
            done[row.state] = done.get(row.state, 0) + 1
            if options["verbosity"] > 1:
                self.stdout.write(f"#{row.pk}: {row.state} {row.reason or row.error}")
        self.stdout.write(", ".join(f"{n} {s}" for s, n in sorted(done.items())) or "nothing to do")
