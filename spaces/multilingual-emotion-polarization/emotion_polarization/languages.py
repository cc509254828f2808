"""Which language a text seems to be in, offline: Unicode scripts first, then py3langid for shared scripts.

A script that only one of the languages below is written in (Greek, Khmer, Hangul, ...) decides alone, with
certainty. A script several of them share (Latin, Arabic, Cyrillic, Devanagari, Ethiopic: Amharic and Tigrinya) is
handed to py3langid (langid.py's maintained fork, its model inside the wheel), restricted to the languages of that
script it knows, and the answer is never more than "probably ...": it may not know the language at all (Hausa,
Tigrinya), and short texts give it little to go on. Codes are ISO 639-3 as in the project's datasets (`eng`, `arb`).
"""

from __future__ import annotations

import functools
import unicodedata
from collections import Counter
from dataclasses import dataclass

# code -> (English name, ISO 639-1 code or None, script)
LANGUAGES: dict[str, tuple[str, str | None, str]] = {
    "afr": ("Afrikaans", "af", "Latin"),
    "amh": ("Amharic", "am", "Ethiopic"),
    "arb": ("Arabic", "ar", "Arabic"),
    "ben": ("Bengali", "bn", "Bengali"),
    "deu": ("German", "de", "Latin"),
    "ell": ("Greek", "el", "Greek"),
    "eng": ("English", "en", "Latin"),
    "fas": ("Persian", "fa", "Arabic"),
    "fin": ("Finnish", "fi", "Latin"),
    "fra": ("French", "fr", "Latin"),
    "guj": ("Gujarati", "gu", "Gujarati"),
    "hau": ("Hausa", "ha", "Latin"),
    "heb": ("Hebrew", "he", "Hebrew"),
    "hin": ("Hindi", "hi", "Devanagari"),
    "hye": ("Armenian", "hy", "Armenian"),
    "ind": ("Indonesian", "id", "Latin"),
    "ita": ("Italian", "it", "Latin"),
    "jpn": ("Japanese", "ja", "Japanese"),
    "kan": ("Kannada", "kn", "Kannada"),
    "kat": ("Georgian", "ka", "Georgian"),
    "khm": ("Khmer", "km", "Khmer"),
    "kor": ("Korean", "ko", "Hangul"),
    "mal": ("Malayalam", "ml", "Malayalam"),
    "mar": ("Marathi", "mr", "Devanagari"),
    "mya": ("Burmese", "my", "Myanmar"),
    "nep": ("Nepali", "ne", "Devanagari"),
    "nld": ("Dutch", "nl", "Latin"),
    "ori": ("Odia", "or", "Oriya"),
    "pan": ("Punjabi", "pa", "Gurmukhi"),
    "pol": ("Polish", "pl", "Latin"),
    "por": ("Portuguese", "pt", "Latin"),
    "ron": ("Romanian", "ro", "Latin"),
    "rus": ("Russian", "ru", "Cyrillic"),
    "sin": ("Sinhala", "si", "Sinhala"),
    "spa": ("Spanish", "es", "Latin"),
    "swa": ("Swahili", "sw", "Latin"),
    "swe": ("Swedish", "sv", "Latin"),
    "tam": ("Tamil", "ta", "Tamil"),
    "tel": ("Telugu", "te", "Telugu"),
    "tha": ("Thai", "th", "Thai"),
    "tir": ("Tigrinya", "ti", "Ethiopic"),
    "tur": ("Turkish", "tr", "Latin"),
    "ukr": ("Ukrainian", "uk", "Cyrillic"),
    "urd": ("Urdu", "ur", "Arabic"),
    "zho": ("Chinese", "zh", "Han"),
}
RIGHT_TO_LEFT_SCRIPTS = {"Arabic", "Hebrew"}

# Half-open code point ranges; letters and combining marks inside them count for the script.
_SCRIPT_RANGES = [
    (0x0041, 0x0250, "Latin"), (0x1E00, 0x1F00, "Latin"),
    (0x0370, 0x0400, "Greek"), (0x0400, 0x0530, "Cyrillic"), (0x0530, 0x0590, "Armenian"),
    (0x0590, 0x0600, "Hebrew"), (0x0600, 0x0700, "Arabic"), (0x0750, 0x0780, "Arabic"),
    (0x08A0, 0x0900, "Arabic"), (0xFB50, 0xFE00, "Arabic"), (0xFE70, 0xFF00, "Arabic"),
    (0x0900, 0x0980, "Devanagari"), (0x0980, 0x0A00, "Bengali"), (0x0A00, 0x0A80, "Gurmukhi"),
    (0x0A80, 0x0B00, "Gujarati"), (0x0B00, 0x0B80, "Oriya"), (0x0B80, 0x0C00, "Tamil"),
    (0x0C00, 0x0C80, "Telugu"), (0x0C80, 0x0D00, "Kannada"), (0x0D00, 0x0D80, "Malayalam"),
    (0x0D80, 0x0E00, "Sinhala"), (0x0E00, 0x0E80, "Thai"), (0x1000, 0x10A0, "Myanmar"),
    (0x10A0, 0x1100, "Georgian"), (0x1100, 0x1200, "Hangul"), (0x1200, 0x13A0, "Ethiopic"),
    (0x1780, 0x1800, "Khmer"), (0x3040, 0x3100, "Japanese"), (0x3130, 0x3190, "Hangul"),
    (0x3400, 0x4DC0, "Han"), (0x4E00, 0xA000, "Han"), (0xAC00, 0xD7B0, "Hangul"), (0xF900, 0xFB00, "Han"),
    (0x20000, 0x2A6E0, "Han"),
]
# script -> the languages above written in it; a script with one of them decides alone.
SCRIPT_LANGUAGES: dict[str, list[str]] = {}
for _code, (_, _, _script) in LANGUAGES.items():
    SCRIPT_LANGUAGES.setdefault(_script, []).append(_code)
MIN_WORDS = 2  # fewer words in a shared script: undetermined


@dataclass(frozen=True)
class Detection:
    """The language a text seems to be in: `code` is None when the text gives too little to go on."""

    code: str | None
    script: str | None
    certain: bool = True

    @property
    def name(self) -> str | None:
        return language_name(self.code) if self.code else None

    @property
    def right_to_left(self) -> bool:
        return self.script in RIGHT_TO_LEFT_SCRIPTS

    def describe(self) -> str:
        if self.code is None:
            return f"undetermined ({self.script} script)" if self.script else "undetermined"
        return self.name if self.certain else f"probably {self.name}"


def language_name(code: str) -> str:
    return LANGUAGES[code][0] if code in LANGUAGES else code


def language_choices() -> list[tuple[str, str]]:
    """(name, code) pairs for a selector, sorted by name."""
    return sorted(((name, code) for code, (name, _, _) in LANGUAGES.items()), key=lambda pair: pair[0])


def iso_codes(code: str) -> set[str]:
    """Every way a model card may spell a language: ISO 639-3 and, where it has one, ISO 639-1."""
    codes = {code}
    if code in LANGUAGES and LANGUAGES[code][1]:
        codes.add(LANGUAGES[code][1])
    return codes


def _words(text: str) -> list[str]:
    """Lower-cased words with surrounding punctuation removed (vowel signs of Indic scripts kept, unlike `\\w`)."""
    words = []
    for token in text.lower().split():
        start, end = 0, len(token)
        while start < end and unicodedata.category(token[start])[0] in "PS":
            start += 1
        while end > start and unicodedata.category(token[end - 1])[0] in "PS":
            end -= 1
        if start < end:
            words.append(token[start:end])
    return words


def dominant_script(text: str) -> str | None:
    counts = Counter()
    for char in text:
        if not unicodedata.category(char).startswith(("L", "M")):
            continue
        point = ord(char)
        for start, end, script in _SCRIPT_RANGES:
            if start <= point < end:
                counts[script] += 1
                break
    if not counts:
        return None
    # Japanese mixes kana with Han characters: any kana makes the text Japanese.
    if counts["Japanese"] and counts["Han"]:
        counts["Japanese"] += counts.pop("Han")
    return counts.most_common(1)[0][0]


@functools.lru_cache(maxsize=None)
def _identifier(iso_codes: tuple[str, ...]):
    """py3langid restricted to `iso_codes` (ISO 639-1), probabilities normalised."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(iso_codes))
    return identifier


@functools.lru_cache(maxsize=1)
def _identifier_labels() -> frozenset[str]:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return frozenset(LanguageIdentifier.from_model_file(MODEL_FILE).labels)


def detect_language(text: str) -> Detection:
    """Guess the language of `text`: certain for a script one language owns, "probably" for a shared script."""
    script = dominant_script(text)
    if script is None:
        return Detection(None, None, certain=False)
    owners = SCRIPT_LANGUAGES.get(script, [])
    if len(owners) == 1:
        return Detection(owners[0], script)
    if len(_words(text)) < MIN_WORDS:
        return Detection(None, script, certain=False)
    by_iso = {LANGUAGES[code][1]: code for code in owners if LANGUAGES[code][1] in _identifier_labels()}
    if not by_iso:
        return Detection(None, script, certain=False)
    iso, _ = _identifier(tuple(sorted(by_iso))).classify(text)
    return Detection(by_iso[iso], script, certain=False)
