"""Embed, in this process, every chunk the configured encoder has not embedded yet."""

from django.core.management.base import BaseCommand

from helpdesk import conf, vectors
from helpdesk.encoders import get_encoder
from helpdesk.services.knowledge import embed_chunks, pending_chunk_ids, rechunk_stale


class Command(BaseCommand):
    help = "Embed all pending chunks now (after a model change, or without a running worker)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--rechunk", action="store_true",
            help="first split again, now, the articles split under other settings (CHUNK_WORDS, TITLE_PASSAGE) "
                 "or an older version, which the worker's sweep otherwise does a bounded number at a time: "
                 "passages whose text is unchanged keep their vectors, only new or changed ones are embedded")

    def handle(self, *args, **options):
        if options["rechunk"]:
            articles, passages = rechunk_stale(queue=False)
            self.stdout.write(f"{passages} passages of {articles} articles new or changed")
        encoder = get_encoder()
        pending = pending_chunk_ids()
        size = conf.get("EMBED_TASK_CHUNKS")
        done = 0
        for start in range(0, len(pending), size):
            done += embed_chunks(chunk_ids=pending[start : start + size], encoder=encoder)
            self.stdout.write(f"\r{done}/{len(pending)} chunks embedded", ending="")
        vectors.ensure_index(encoder.dimensions, concurrently=True)
        self.stdout.write(f"\n{done} chunks embedded with {encoder.name}")
