"""Measure language identification on labelled lines: `text<TAB>language` (BCP 47; more columns ignored).

    python manage.py evaluate_language FILE [--predictions OUT] [--json]

Prints accuracy overall, per language and macro-averaged, over every line and over the lines whose
language the detector supports (the rest are listed). A prediction counts as right when it names
the same language as the label after normalisation (`zsm` = `ms`, `nob` = `nb`, `cmn` = `zh`), or
names the label's macrolanguage (`ar` for Egyptian Arabic `arz`), or differs only in script or
region (`zh` for `zh-Hant`). Labels are normalised by `embeddings.language.to_bcp47`.
`--predictions OUT` writes the detected tag of every input line, one per line, in input order.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from embeddings.language import detect_language, is_supported, same_language, supported_languages, to_bcp47


class Command(BaseCommand):
    help = "Measure language identification accuracy on `text<TAB>language` lines."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--predictions", help="write the detected tag of each line to this file")
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args, file, predictions, as_json, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"no such file: {file}")
        rows = []
        with path.open(encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                line = line.rstrip("\n")
                if not line.strip():
                    continue
                parts = line.split("\t")
                if len(parts) < 2 or not parts[1].strip():
                    raise CommandError(f"line {number}: expected `text<TAB>language`")
                rows.append((parts[0], to_bcp47(parts[1])))
        if not rows:
            raise CommandError("the file has no labelled lines")

        known = supported_languages()
        detected = [detect_language(text).guess or "und" for text, _ in rows]
        if predictions:
            Path(predictions).write_text("\n".join(detected) + "\n", encoding="utf-8")

        per_language = defaultdict(lambda: [0, 0])
        for (_, expected), guess in zip(rows, detected):
            per_language[expected][0] += same_language(guess, expected)
            per_language[expected][1] += 1
        report = {"lines": len(rows), "languages": len(per_language)}
        # Supported: the detector names the language or its macrolanguage, whatever script or region
        # the label carries (zh-Hant, az-Latn, nob → `no`).
        supported = {tag for tag in per_language if is_supported(tag, known)}
        for scope, languages in (("all", list(per_language)),
                                 ("supported", [t for t in per_language if t in supported])):
            right = sum(per_language[t][0] for t in languages)
            total = sum(per_language[t][1] for t in languages)
            report[scope] = {
                "languages": len(languages),
                "lines": total,
                "accuracy": round(right / total, 4) if total else 0.0,
                "macro_accuracy": round(sum(per_language[t][0] / per_language[t][1] for t in languages)
                                        / len(languages), 4) if languages else 0.0,
            }
        report["unsupported"] = sorted(t for t in per_language if t not in supported)
        report["per_language"] = {t: {"accuracy": round(r / n, 4), "lines": n} for t, (r, n) in sorted(per_language.items())}

        if as_json:
            self.stdout.write(json.dumps(report, ensure_ascii=False))
            return
        for scope in ("all", "supported"):
            s = report[scope]
            self.stdout.write(f"{scope:10} {s['languages']:>4} languages {s['lines']:>7} lines  "
                              f"accuracy {s['accuracy']:.4f}  macro {s['macro_accuracy']:.4f}")
        self.stdout.write(f"not supported by the detector: {', '.join(report['unsupported']) or 'none'}")
        for tag, r in report["per_language"].items():
            mark = "" if tag in supported else "  (unsupported)"
            self.stdout.write(f"  {tag:10} {r['accuracy']:.4f}  ({r['lines']} lines){mark}")
