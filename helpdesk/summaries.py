"""Pure: an article's opening as a customer should read it in a reply: whole sentences, never cut.

An agent's "Insert into reply" sends this text to the customer, so it must read as written: it
stops between sentences (or list items), keeps the article's paragraphs and lists, and stays short
enough for a reply; the link that follows it leads to the rest.
"""

from __future__ import annotations

import re

# Where a sentence ends: after . ! ? … (Latin, Arabic ؟ and Urdu ۔ too) and any closing quote or
# bracket, before white space that no closing mark follows (French « … ? » goes on); after the
# full-width 。, or ！？ outside a quotation (CJK writes no space between sentences; 「…？」を… goes on).
# A number alone before the full stop is a list item's ("… as follows: 1. Open …"), not an end.
# The closing marks are captured, to stay with their sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?…؟۔])(?<!\s\d\.)(?<!\s\d\d\.)([\"'»”’)\]]*)\s+(?![»”’)\]])|(?<=[。])([」』）]*)\s*|(?<=[！？])()(?![」』）])\s*")
_LIST_MARKER = re.compile(r"^(\d{1,3}[.)]|[-*•])$")
# Ideographs, kana and hangul carry more per character: they count double against the length.
_WIDE = re.compile(r"[\u1100-\u11ff\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")

SUMMARY_LENGTH = 900


def summary(body: str, *, length: int = SUMMARY_LENGTH) -> str:
    """Return the opening of `body` in whole sentences, up to about `length` characters.

    The first sentence is always kept whole, however long; after it, a sentence that would pass
    `length` ends the summary. Paragraph breaks and list lines are kept."""
    paragraphs = [p for p in re.split(r"\n\s*\n", (body or "").strip()) if p.strip()]
    out: list[list[list[str]]] = []  # paragraphs → lines → sentences
    used = 0
    for paragraph in paragraphs:
        lines: list[list[str]] = []
        for line in paragraph.splitlines():
            sentences = _sentences(line)
            if not sentences:
                continue
            kept: list[str] = []
            for sentence in sentences:
                cost = _width(sentence) + 1
                if used and used + cost > length:
                    return _join(out + [lines + [kept]] if kept else out + ([lines] if lines else []))
                kept.append(sentence)
                used += cost
            lines.append(kept)
        out.append(lines)
    return _join(out)


def preview(text: str, limit: int) -> str:
    """Return `text` cut to at most `limit` characters between words, with "…" when cut.

    A passage shown under a title in the widget or the agents' panel is a preview, not a reply: it
    may stop mid-sentence but never mid-word ("shipping co"). Scripts written without spaces
    (Chinese, Japanese, Thai) are cut at the limit, where every position is a boundary a reader accepts."""
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:–-") + "…"


def _sentences(line: str) -> list[str]:
    pieces = _SENTENCE_END.split(line.strip())
    # split() gives text, then the three groups of each break: closing marks belong to the text before.
    parts = []
    for i in range(0, len(pieces), 4):
        text = pieces[i] + "".join(g or "" for g in pieces[i + 1:i + 4])
        if text.strip():
            parts.append(text.strip())
    merged: list[str] = []
    for part in parts:
        if merged and _LIST_MARKER.match(merged[-1]):  # "1." is a list item's number, not a sentence
            merged[-1] = f"{merged[-1]} {part}"
        else:
            merged.append(part)
    return merged


def _width(text: str) -> int:
    return len(text) + len(_WIDE.findall(text))


def _join(paragraphs: list[list[list[str]]]) -> str:
    def sentence_join(sentences: list[str]) -> str:
        text = ""
        for s in sentences:
            # CJK sentences follow each other without a space.
            text += s if not text or text[-1] in "。！？」』）" else " " + s
        return text

    return "\n\n".join("\n".join(sentence_join(line) for line in p if line) for p in paragraphs if any(p)).strip()
