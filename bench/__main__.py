"""Benchmarks on public data.

    python -m bench convert [NAME ...]   convert ../shared/data sets to BEIR layout under var/bench/
    python -m bench retrieval [--quick]  evaluate every set (dense, lexical, hybrid) beside a bm25s reference
    python -m bench language             language identification accuracy on Tatoeba (112 languages)
    python -m bench latency [--keep]     suggestion latency p50/p95 with 10k published articles, per stage
    python -m bench widget_load          widget suggest under 1/4/16 clients, cold and realistic question mixes: req/s, p99, hit ratio
    python -m bench fit                  fit fusion and confidence for the encoder: leave-one-dataset-out table,
                                         the model to ship beside the one shipped
    python -m bench no_answer [SET ...]  the "no good answer" decision at the shipped threshold: answerable
                                         questions shown a right / wrong article / nothing, out-of-scope held back
    python -m bench demo_questions       the demo KB asked in 20 languages, and asked what it does not cover
    python -m bench dashboard            queue and metrics server time, 10k tickets + 100k suggestions
    python -m bench imports              KB imports: CSV articles/s, web/worker peak memory for a large upload,
                                         embedding through the pipeline beside the raw model (ratio)
    python -m bench faults               fault drill: imports while workers are killed, Redis and PostgreSQL stopped
    python -m bench fuzz                 10,000 hostile requests against a real server: status codes, hangs
    python -m bench ratelimit            widget rate limits: honest visitors' success beside abusing addresses
    python -m bench encoders             encoders side by side: load, RSS, query p50 on 1 thread, throughput, worker path
    python -m bench email                outgoing email: replies/s through the send task to a local SMTP server
    python -m bench email_fuzz           inbound email: 10,000 mutated messages (no crash, nothing lost), messages/s
    python -m bench email_quotes         quote/signature stripping on the email corpus, per library

`--data PATH` reads the public data from elsewhere (default ../shared/data, or $POLYGLOT_DATA).
Everything runs against this checkout's embedded PostgreSQL (POLYGLOT_VAR, default var/bench-db),
inside throwaway schemas: the live knowledge base is never touched.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path


def _setup():
    os.environ.setdefault("POLYGLOT_VAR", "var/bench-db")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    argv = sys.argv[1:] if argv is None else argv
    # Benchmarks with their own argument parsers: (module, needs Django set up and migrated here).
    own_parsers = {"dashboard": True, "encoders": False, "imports": False, "widget_load": False, "email": True,
                   "email_fuzz": False, "email_quotes": False, "fuzz": False, "ratelimit": False,
                   "faults": False, "no_answer": True, "fit": True, "demo_questions": True}
    if argv[:1] and argv[0] in own_parsers:
        os.environ.setdefault("POLYGLOT_VAR", "var/bench-db")
        if own_parsers[argv[0]]:
            _setup()
        module = importlib.import_module(f"bench.{argv[0]}")
        return module.main(argv[1:])
    parser.add_argument("name", choices=["convert", "retrieval", "language", "latency"])
    parser.add_argument("datasets", nargs="*", help="for convert/retrieval: only these sets")
    parser.add_argument("--data", type=Path, help="where the public datasets lie")
    parser.add_argument("--quick", action="store_true", help="fewer queries per set (a smoke run)")
    parser.add_argument("--articles", type=int, default=10_000, help="latency: published articles")
    parser.add_argument("--keep", action="store_true",
                        help="latency: keep the embedded articles in a schema and reuse them on the next run")
    parser.add_argument("--skip-minilm", action="store_true", help="latency: do not measure MiniLM beside")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.data:
        os.environ["POLYGLOT_DATA"] = str(args.data)
    if args.name == "latency":
        # Encode queries on one thread, as the web processes do (config.serve); HELPDESK_TORCH_THREADS=2 to compare.
        os.environ.setdefault("HELPDESK_TORCH_THREADS", "1")
    _setup()
    from bench import runs

    return getattr(runs, args.name)(args) or 0


if __name__ == "__main__":
    sys.exit(main())
