"""The "no good answer" decision, judged: what customers would see at a confidence threshold.

Pure arithmetic shared by `evaluate_retrieval` (labelled sets) and the admin's threshold preview
(agent-judged tickets), so both report the same four figures:

- of the answerable questions, the share shown a correct article, shown only wrong ones, held back;
- of the unanswerable (out-of-scope) questions, the share held back.

A question is "shown" something when at least one of its suggestions (those a customer would see,
best first) reaches the threshold; "correct" when one of the shown suggestions is a right answer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

# The curve's thresholds: 0, 0.05, ..., 0.95.
CURVE = tuple(round(0.05 * i, 2) for i in range(20))


@dataclass(frozen=True)
class Judged:
    """One question: whether the knowledge base answers it, and its suggestions as (confidence, right?)."""

    answerable: bool
    suggestions: tuple[tuple[float, bool], ...]
    language: str = ""


def outcome(question: Judged, threshold: float) -> str:
    """"correct", "wrong" or "held_back" (answerable); "shown" or "held_back" (unanswerable)."""
    shown = [right for confidence, right in question.suggestions if confidence >= threshold]
    if not shown:
        return "held_back"
    if not question.answerable:
        return "shown"
    return "correct" if any(shown) else "wrong"


def tally(questions: Iterable[Judged], threshold: float) -> dict:
    """The four shares (0..1, None without such questions) and the counts behind them."""
    counts = {"correct": 0, "wrong": 0, "answerable_held_back": 0, "unanswerable_shown": 0,
              "unanswerable_held_back": 0}
    for question in questions:
        result = outcome(question, threshold)
        if question.answerable:
            counts["answerable_held_back" if result == "held_back" else result] += 1
        else:
            counts["unanswerable_held_back" if result == "held_back" else "unanswerable_shown"] += 1
    answerable = counts["correct"] + counts["wrong"] + counts["answerable_held_back"]
    unanswerable = counts["unanswerable_shown"] + counts["unanswerable_held_back"]

    def share(n: int, of: int) -> float | None:
        return round(n / of, 4) if of else None

    return {
        "threshold": threshold, "answerable": answerable, "unanswerable": unanswerable,
        "answerable_correct": share(counts["correct"], answerable),
        "answerable_wrong": share(counts["wrong"], answerable),
        "answerable_held_back": share(counts["answerable_held_back"], answerable),
        "unanswerable_held_back": share(counts["unanswerable_held_back"], unanswerable),
        "counts": counts,
    }


def report(questions: list[Judged], threshold: float, *, curve: Iterable[float] = CURVE) -> dict:
    """Figures at `threshold`, overall and per language, and the overall curve over `curve`."""
    by_language: dict[str, list[Judged]] = defaultdict(list)
    for question in questions:
        by_language[question.language or "und"].append(question)
    return {
        "threshold": threshold,
        "overall": tally(questions, threshold),
        "per_language": {lang: tally(group, threshold) for lang, group in sorted(by_language.items())},
        "curve": [tally(questions, t) for t in curve],
    }


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def format_report(figures: dict, *, title: str = "") -> str:
    """The table at the threshold (overall, per language) and the curve, as text."""
    header = (f"{'':10} {'answerable':>10} {'correct':>8} {'wrong':>8} {'held back':>9}"
              f"   {'out of scope':>12} {'held back':>9}")

    def row(label: str, t: dict) -> str:
        return (f"{label:10} {t['answerable']:>10} {_percent(t['answerable_correct']):>8} "
                f"{_percent(t['answerable_wrong']):>8} {_percent(t['answerable_held_back']):>9}"
                f"   {t['unanswerable']:>12} {_percent(t['unanswerable_held_back']):>9}")

    lines = [title or f"No-answer decision at threshold {figures['threshold']:.2f}", header,
             row("all", figures["overall"])]
    if len(figures["per_language"]) > 1:
        lines += [row(lang, t) for lang, t in figures["per_language"].items()]
    lines.append("curve (all languages)")
    lines.append(header.replace(f"{'':10}", f"{'threshold':10}", 1))
    lines += [row(f"{t['threshold']:.2f}", t) for t in figures["curve"]]
    return "\n".join(lines)
