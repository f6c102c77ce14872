"""Fit fusion weights and confidence for the configured encoder from labelled sets and agents' ratings.

    python manage.py fit_ranking DIR [DIR ...] [--feedback] [--save] [--json]

Each DIR is a BEIR-layout set (corpus.jsonl, queries.jsonl, qrels/test.tsv); questions without a
relevance label, or marked `"answerable": false`, are out of scope. `--feedback` adds the agents'
ratings of first suggestions (helpful / not helpful) to the confidence fit. With two or more sets
it also fits leaving each set out and scores the one left out. `--save` stores the model for this
encoder (it then answers every query; the answer cache is invalidated); without it nothing changes.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from helpdesk import conf, fitting, ranking
from helpdesk.encoders import get_encoder


class Command(BaseCommand):
    help = "Fit the suggestion engine's fusion weights and confidence for the configured encoder."

    def add_arguments(self, parser):
        parser.add_argument("directories", nargs="*", help="BEIR-layout labelled sets")
        parser.add_argument("--feedback", action="store_true",
                            help="add agents' ratings of first suggestions to the confidence fit")
        parser.add_argument("--feedback-weight", type=float, default=1.0,
                            help="the ratings' total weight, as one labelled set's (default 1)")
        parser.add_argument("--max-queries", type=int, default=400, help="answerable questions per set (sampled)")
        parser.add_argument("--max-out-of-scope", type=int, default=200, help="out-of-scope questions per set")
        parser.add_argument("--language", default="en", help="language of corpus documents without one")
        parser.add_argument("--save", action="store_true", help="store the fitted model for this encoder")
        parser.add_argument("--reset", action="store_true",
                            help="delete the stored model: the encoder answers with the one shipped for it again")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print one JSON object")

    def handle(self, *args, directories, feedback, feedback_weight, max_queries, max_out_of_scope, language, save,
               as_json, reset=False, **options):
        if reset:
            from helpdesk.services.ranking_profiles import delete_ranking_profile

            encoder = get_encoder().name
            deleted = delete_ranking_profile(encoder=encoder)
            self.stdout.write(f"{encoder}: {'stored model deleted' if deleted else 'no stored model'}; "
                              "it answers with the model shipped for it")
            return
        if not directories and not feedback:
            raise CommandError("give at least one labelled set, or --feedback")
        for directory in directories:
            root = Path(directory)
            if not (root / "corpus.jsonl").is_file() or not (root / "qrels" / "test.tsv").is_file():
                raise CommandError(f"{directory}: not a BEIR-layout directory (corpus.jsonl, queries.jsonl, qrels/test.tsv)")
        if not 0 < feedback_weight <= 100:
            raise CommandError("--feedback-weight must be above 0 and at most 100")
        log = (lambda msg: self.stderr.write(msg)) if as_json else (lambda msg: self.stdout.write(msg))
        encoder = get_encoder().name
        threshold = conf.get("CONFIDENCE_THRESHOLD")
        records = []
        for directory in directories:
            try:
                records += fitting.collect(directory, max_answerable=max_queries, max_out_of_scope=max_out_of_scope,
                                           default_language=language, log=log)
            except (ValueError, KeyError, UnicodeDecodeError) as exc:
                raise CommandError(f"could not read {directory}: {exc}") from exc
        extra = None
        if feedback:
            extra = fitting.feedback_examples(_rated_first_suggestions(), weight=feedback_weight)
            log(f"agents' ratings: {len(extra.y)} rated first suggestions ({sum(extra.y)} helpful)")
        base = ranking.shipped_model(encoder)
        report = {"encoder": encoder, "questions": len(records), "ratings": len(extra.y) if extra else 0}
        try:
            if records:
                model = fitting.fit(records, base=base, extra=extra, log=log)
            else:  # ratings alone: the shipped fusion, the confidence refitted
                model = fitting.fit_confidence(extra, base=base)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        ratings = f", {report['ratings']} agent ratings" if extra else ""
        model = ranking.RankingModel.from_dict({
            **model.as_dict(), "source": f"fit_ranking: {len(records)} questions from {len(directories)} set(s){ratings}"})
        report["model"] = model.as_dict()
        if records:
            report["fitted"] = _summary(fitting.evaluate(records, model, threshold=threshold))
            report["before"] = _summary(fitting.evaluate(records, base, threshold=threshold))
            if len({r.dataset for r in records}) > 1:
                report["leave_one_out"] = {name: _summary(result) for name, result in
                                           fitting.leave_one_out(records, threshold=threshold, base=base).items()}
        if save:
            from helpdesk.services.ranking_profiles import save_ranking_profile

            save_ranking_profile(encoder=encoder, model=model, report=report)
        if as_json:
            self.stdout.write(json.dumps(report, ensure_ascii=False))
            return
        self._print(report, threshold, saved=save)

    def _print(self, report: dict, threshold: float, *, saved: bool):
        out = self.stdout.write
        model = report["model"]
        out(f"encoder {report['encoder']}: dense share {model['dense_tied']} tied, +{model['dense_per_lead']} per unit "
            f"of lead, +{model['dense_per_standout']} per standard deviation of lead, cap {model['dense_cap']}; "
            f"confidence bias {model['bias']}, "
            + ", ".join(f"{name} {model[name]}" for name in ranking.FEATURES))
        rows = [("before", report.get("before")), ("fitted", report.get("fitted"))]
        rows += [(f"left out {name}", summary) for name, summary in report.get("leave_one_out", {}).items()]
        out(f"{'':24} {'dense':>7} {'lexical':>7} {'hybrid':>7}   at {threshold}: answerable right/wrong/held, "
            "out of scope held back")
        for label, summary in rows:
            if summary:
                out(f"{label:24} {summary['dense']:7.4f} {summary['lexical']:7.4f} {summary['hybrid']:7.4f}   "
                    f"{summary['right']}/{summary['wrong']}/{summary['held']}, {summary['oos_held']}")
        out("saved: it answers queries from now on" if saved else "not saved (add --save to use it)")


def _summary(result: dict) -> dict:
    t = result["no_answer"]["overall"]

    def pct(value):
        return "—" if value is None else f"{100 * value:.1f}%"

    return {**{mode: result["ndcg@10"].get(mode, 0.0) for mode in ("dense", "lexical", "hybrid")},
            "right": pct(t["answerable_correct"]), "wrong": pct(t["answerable_wrong"]),
            "held": pct(t["answerable_held_back"]), "oos_held": pct(t["unanswerable_held_back"])}


def _rated_first_suggestions():
    """(evidence, helpful) of the first suggestion of each rated ticket or session."""
    from helpdesk.models import Suggestion

    rows = (Suggestion.objects.filter(rank=1).exclude(feedback="").exclude(evidence={})
            .values_list("evidence", "feedback"))
    return [(evidence, feedback == Suggestion.Feedback.HELPFUL) for evidence, feedback in rows]
