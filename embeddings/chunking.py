"""Split an article into passages small enough to embed, each carrying the article's title."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

# Scripts written without spaces between words: each character counts as a word.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f\u0e80-\u0eff\u1000-\u109f\u1780-\u17ff]")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？।])\s+|(?<=[。！？])")
_PARAGRAPH = re.compile(r"\n\s*\n")
# A title gets a passage of its own only over a body this long (`text_length` words: each CJK or
# Thai character counts as one, as in passage sizes, so one sentence there is enough): a shorter
# article's one passage is mostly its title already, and a title alone loses what the body adds to
# it (on DSTC11, bodies of ~8 words naming the hotel a question is about, titled alike for every hotel).
TITLE_PASSAGE_MIN_WORDS = 30


@dataclass(frozen=True)
class Passage:
    ordinal: int
    text: str  # what gets embedded and searched: title + passage
    body: str  # the passage alone, for snippets

    @property
    def content_hash(self) -> str:
        return content_hash(self.text)


def chunking_signature(*, max_words: int, title_passage: bool) -> str:
    """Names the way `chunk_article` splits with these settings: an article chunked under another
    signature (an older version, other settings) is split again (helpdesk.services.knowledge)."""
    return f"v1 words={max_words} title={TITLE_PASSAGE_MIN_WORDS if title_passage else 'off'}"


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def text_length(text: str) -> int:
    """Approximate length in words, counting each CJK/Thai character as one."""
    unspaced = len(_UNSPACED.findall(text))
    spaced = len(_UNSPACED.sub(" ", text).split())
    return spaced + unspaced


def _sentences(paragraph: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(paragraph) if s.strip()]


def _split_long(sentence: str, max_words: int) -> list[str]:
    """Cut a sentence that alone exceeds the budget (no punctuation, or one long line)."""
    if _UNSPACED.search(sentence) and " " not in sentence.strip():
        return [sentence[i : i + max_words] for i in range(0, len(sentence), max_words)]
    words = sentence.split()
    return [" ".join(words[i : i + max_words]) for i in range(0, len(words), max_words)]


def chunk_article(title: str, body: str, *, max_words: int = 120, overlap_sentences: int = 1,
                  title_passage: bool = False) -> list[Passage]:
    """Return passages of at most ~`max_words` words, breaking at paragraphs, then sentences.

    Consecutive passages share `overlap_sentences` sentences so an answer spanning a boundary stays
    findable. An article with an empty body still yields one passage: its title.

    `title_passage`: one more passage, last, holding the title alone (its `body` empty: it has no
    snippet of its own), for a body of at least TITLE_PASSAGE_MIN_WORDS words. Customers ask in a
    few words, as titles are written; a title embedded beside 120 words of steps is diluted by them
    (see README, "Title passages").
    """
    title = " ".join((title or "").split())
    units: list[str] = []
    for paragraph in _PARAGRAPH.split(body or ""):
        for sentence in _sentences(" ".join(paragraph.split())):
            units.extend(_split_long(sentence, max_words) if text_length(sentence) > max_words else [sentence])

    groups: list[list[str]] = []
    current: list[str] = []
    size = 0
    for unit in units:
        length = text_length(unit)
        if current and size + length > max_words:
            groups.append(current)
            current = current[-overlap_sentences:] if overlap_sentences else []
            size = sum(text_length(u) for u in current)
            if size + length > max_words:
                current, size = [], 0
        current.append(unit)
        size += length
    if current:
        groups.append(current)
    if not groups:
        groups = [[]]

    passages = []
    for ordinal, group in enumerate(groups):
        passage_body = " ".join(group)
        text = f"{title}\n{passage_body}".strip() if passage_body else title
        passages.append(Passage(ordinal, text, passage_body))
    if title_passage and title and text_length(body or "") >= TITLE_PASSAGE_MIN_WORDS:
        passages.append(Passage(len(passages), title, ""))
    return passages
