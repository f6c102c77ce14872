"""Make uploaded text safe and plain: sanitise HTML with nh3, then keep its words and structure.

Articles are stored as plain text (paragraphs separated by blank lines) and escaped on display, so
sanitising is a second line of defence: scripts, styles, event handlers, frames, objects and other
remote embeds are removed, with their content, before any text is extracted.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

ALLOWED_TAGS = {
    "p", "br", "div", "span", "section", "article", "main", "header", "footer", "h1", "h2", "h3", "h4",
    "h5", "h6", "ul", "ol", "li", "dl", "dt", "dd", "blockquote", "pre", "code", "strong", "em", "b",
    "i", "u", "a", "table", "thead", "tbody", "tr", "th", "td", "hr", "sup", "sub", "small", "mark",
}
DROPPED_WITH_CONTENT = {
    "script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "math", "video",
    "audio", "canvas", "form", "select", "textarea", "button", "head", "title", "nav", "frameset",
}
BLOCKS = {
    "p", "div", "section", "article", "main", "header", "footer", "h1", "h2", "h3", "h4", "h5", "h6",
    "ul", "ol", "dl", "dt", "dd", "blockquote", "pre", "table", "tr", "hr",
}
_LOOKS_LIKE_HTML = re.compile(r"</?(p|div|br|h[1-6]|ul|ol|li|a|strong|em|b|i|span|table|script|style|img|iframe)\b[^>]*>", re.I)


def sanitize_html(html: str) -> str:
    """Remove everything but harmless formatting tags (and links without event handlers)."""
    return nh3.clean(
        html, tags=ALLOWED_TAGS, clean_content_tags=DROPPED_WITH_CONTENT, attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"}, strip_comments=True,
    )


def html_to_text(html: str, *, line_tags: frozenset[str] = frozenset()) -> str:
    """Sanitise `html` and return its text with paragraphs, headings and list items on their own lines.

    `line_tags` end a line rather than a paragraph (mail clients write one `<div>` per line).
    """
    parser = _TextExtractor(line_tags)
    parser.feed(sanitize_html(html))
    parser.close()
    return normalize_text("".join(parser.parts))


def body_to_text(body: str) -> str:
    """Plain text passes through (normalised); text that carries HTML markup is sanitised first."""
    return html_to_text(body) if _LOOKS_LIKE_HTML.search(body) else normalize_text(body)


def normalize_text(text: str) -> str:
    """Unix newlines, no control characters, no trailing spaces, at most one blank line in a row."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def decode_text(data: bytes) -> str:
    """Decode an uploaded text file (UTF-8, with or without a byte-order mark)."""
    return data.decode("utf-8-sig")


class _TextExtractor(HTMLParser):
    def __init__(self, line_tags: frozenset[str] = frozenset()):
        super().__init__(convert_charrefs=True)
        self.line_tags = line_tags
        self.parts: list[str] = []
        self.lists: list[list] = []  # per open list: [ordered, counter]
        self.pre = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.line_tags:
            self._end_line()
        elif tag in BLOCKS:
            self.parts.append("\n\n")
        if tag in ("ul", "ol"):
            self.lists.append([tag == "ol", 0])
        elif tag == "li":
            marker = "- "
            if self.lists and self.lists[-1][0]:
                self.lists[-1][1] += 1
                marker = f"{self.lists[-1][1]}. "
            self.parts.append("\n" + "  " * max(len(self.lists) - 1, 0) + marker)
        elif tag == "br":
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" | " if self.parts and not self.parts[-1].endswith("\n") else "")
        elif tag == "pre":
            self.pre += 1

    def handle_endtag(self, tag):
        if tag in ("ul", "ol") and self.lists:
            self.lists.pop()
        if tag == "pre":
            self.pre = max(self.pre - 1, 0)
        if tag in self.line_tags:
            self._end_line()
        elif tag in BLOCKS:
            self.parts.append("\n\n")

    def _end_line(self):
        if self.parts and not self.parts[-1].endswith("\n"):
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.pre:
            data = re.sub(r"\s+", " ", data)
            if self.parts and self.parts[-1].endswith("\n"):
                data = data.lstrip()
        self.parts.append(data)
