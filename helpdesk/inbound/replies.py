"""Find the new words of an email: cut the quoted history, its attribution line and the signature.

`mail-parser-reply` splits a message at the attribution lines and header blocks of 13 languages
("On … wrote:", "El … escribió:", "Am … schrieb", "From:/Sent:", 发件人/发送时间 …) and keeps the
sender's sign-off. On the corpus in tests/fixtures/email it scored best of the libraries tried
(README, "Email in"), but it misses attribution lines that mail clients wrap over two lines, the
languages it has no patterns for (Portuguese, Russian, Arabic, Hebrew, Korean, Japanese Outlook), the
localised "-----Original Message-----" lines and mobile "Sent from" footers. The patterns below
cover those; both cuts are applied and the earlier one wins. Its own signature patterns ("Thanks,",
"Best regards" and everything after) are not used: they cut customers' sentences.
"""

from __future__ import annotations

import functools
import re

# An attribution line in many languages, which mail clients may wrap once; names and dates come in
# every order, so `_` stands for "anything on at most two lines".
_1 = r"[^\n]{0,200}?"
_ = _1 + r"(?:\n[^\n]{0,200}?)?"
_WROTE = [
    rf"On\b{_}\bwrote\s*:",                                   # en (Gmail, Apple, Thunderbird, Yahoo)
    rf"El\b{_}\bescribió\s*:", rf"Em\b{_}\bescreveu\s*:",  # es, pt
    rf"Le\b{_}\ba écrit\s*:", rf"Am\b{_}\bschrieb\b{_}:",  # fr, de
    rf"Il giorno\b{_}\bha scritto\s*:", rf"Op\b{_}\bschreef\b{_}:",  # it, nl
    rf"{_1}\bнаписал(?:\(а\)|а)?\s*:", rf"في\b{_}\bكتب\s*:",   # ru, ar
    rf"בתאריך\b{_}\bמאת\b{_}:",                          # he (Gmail)
    rf"{_1}\d{{4}}年\d{{1,2}}月\d{{1,2}}日{_}(?:写道|寫道)\s*[:：]",  # zh
    rf"\d{{4}}年\d{{1,2}}月\d{{1,2}}日{_}<[^>\s]+@[^>\s]+>\s*[:：]",       # ja (Gmail)
    rf"\d{{4}}년\s*\d{{1,2}}월\s*\d{{1,2}}일{_}님이\s*작성\s*:",          # ko (Gmail)
]
_ATTRIBUTION = re.compile(r"^[ \t>]*(?:%s)[ \t]*$" % "|".join(_WROTE), re.IGNORECASE | re.MULTILINE)
_ORIGINAL = re.compile(
    r"^[ \t>]*-{3,}\s*(?:Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original|"
    r"Mensagem original|Messaggio originale|Oorspronkelijk bericht|Исходное сообщение|原始邮件|元のメッセージ|"
    r"Forwarded message|Reply message)\s*-{3,}[ \t]*$", re.IGNORECASE | re.MULTILINE)
# Outlook's header block: two or more of these in a row, in the writer's language.
_FIELD = (r"(?:From|Sent|To|Subject|Date|Cc|De|Envoyé|À|Objet|Enviado(?: el)?|Para|Asunto|Von|Gesendet|An|"
          r"Betreff|Datum|Da|Inviato|Oggetto|Van|Verzonden|Aan|Onderwerp|От|Отправлено|Кому|Тема|"
          r"发件人|发送时间|收件人|主题|抄送|寄件者|傳送時間|收件者|主旨|差出人|送信日時|宛先|件名|"
          r"보낸 사람|보낸 날짜|받는 사람|제목|من|مرسل|إلى|الموضوع)")
_HEADER_BLOCK = re.compile(r"^[ \t>*]*%s[ \t*]*[:：].*\n[ \t>*]*%s[ \t*]*[:：]" % (_FIELD, _FIELD), re.MULTILINE)
_UNDERSCORES = re.compile(r"^[ \t>]*_{20,}[ \t]*$", re.MULTILINE)
_SIGNATURE = re.compile(r"^(?:-- ?|--|—)$", re.MULTILINE)
_MOBILE = re.compile(
    r"^(?:Sent from my .{1,40}|Sent from (?:Mail|Outlook|Yahoo Mail).{0,60}|Get Outlook for .{1,60}|"
    r"Enviado desde mi .{1,40}|Envoyé de mon .{1,40}|Envoyé depuis .{1,40}|Von meinem .{1,40} gesendet|"
    r"Gesendet von .{1,40}|Inviato da .{1,40}|Enviado do meu .{1,40}|Отправлено с .{1,40}|"
    r"从我的.{1,30}发送|iPhoneから送信|.{1,20}에서 보냄)$", re.IGNORECASE | re.MULTILINE)


# The library's patterns backtrack on long texts (0.6 s on 100,000 characters); past this length
# only the patterns above are used.
LIBRARY_MAX_CHARS = 20_000


@functools.lru_cache(maxsize=1)
def _library_parser():
    from mailparser_reply import EmailReplyParser
    from mailparser_reply.constants import MAIL_LANGUAGES

    return EmailReplyParser(languages=[lang for lang in MAIL_LANGUAGES if lang != "david"])


def library_reply(text: str) -> str:
    """The first reply as mail-parser-reply splits it, with the sender's sign-off kept."""
    message = _library_parser().read(text)
    return message.replies[0].full_body if message.replies else text


def new_text(text: str) -> str:
    """Return what the sender wrote in this message: no quoted history, no signature."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        return ""
    own = _cut_at_history(text)
    if not own.strip():
        # Bottom-posting: the history comes first; keep what follows it, without quoted lines.
        own = _drop_quoted(_after_first_quote_block(text))
    elif len(own) <= LIBRARY_MAX_CHARS:
        try:
            library = library_reply(own)
        except Exception:  # a library bug must not cost the message
            library = own
        if library.strip() and len(library.strip()) < len(own.strip()):
            own = library
    own = _drop_quoted(own)
    own = _cut_signature(own)
    return _tidy(own)


def _cut_at_history(text: str) -> str:
    cuts = [len(text), _quote_intro(text)]
    for pattern in (_ATTRIBUTION, _ORIGINAL, _HEADER_BLOCK, _UNDERSCORES):
        match = pattern.search(text)
        if match:
            cuts.append(match.start())
    return text[: min(cuts)]


_INTRO_HINT = re.compile(r"@|\d{1,2}[:.]\d{2}")


def _quote_intro(text: str) -> int:
    """Where the line introducing the first quoted block starts, in any language.

    The line (or two, when wrapped) just above the first `>` line, ending with a colon and holding
    an address or a time: "pon., 3 mar 2025 o 10:12 Acme <a@b> napisał(a):", "…tarihinde şunu yazdı:".
    """
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if line.lstrip().startswith(">")), None)
    if not first:
        return len(text)
    above = first - 1
    while above >= 0 and not lines[above].strip():
        above -= 1
    if above < 0 or not lines[above].rstrip().endswith((":", "：")):
        return len(text)
    start = above - 1 if above > 0 and lines[above - 1].strip() and len(lines[above]) < 40 else above
    if not _INTRO_HINT.search(" ".join(lines[start:above + 1])):
        return len(text)
    return sum(len(line) + 1 for line in lines[:start])


def _after_first_quote_block(text: str) -> str:
    lines = text.split("\n")
    seen_quote = False
    for i, line in enumerate(lines):
        if line.lstrip().startswith(">"):
            seen_quote = True
        elif seen_quote and line.strip():
            return "\n".join(lines[i:])
    return ""


def _drop_quoted(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if not line.lstrip().startswith(">"))


def _cut_signature(text: str) -> str:
    match = _SIGNATURE.search(text)
    if match and match.start() > 0:
        text = text[: match.start()]
    lines = text.rstrip().split("\n")
    # Mobile footers are the last words of a message: drop one found among its last three lines.
    for i in range(len(lines) - 1, max(len(lines) - 4, -1), -1):
        if _MOBILE.match(lines[i].strip()):
            del lines[i]
            break
    return "\n".join(lines)


def _tidy(text: str) -> str:
    text = "\n".join(line.rstrip() for line in text.strip().split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()
