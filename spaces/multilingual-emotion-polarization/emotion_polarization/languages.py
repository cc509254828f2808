"""Which language a text seems to be in, offline: Unicode scripts first, then short stop-word lists.

A script that one language owns (Greek, Khmer, Hangul, ...) decides alone. Shared scripts are told apart by
letters only one language uses (Urdu's ے, Persian's پ, Ukrainian's ї) and by counting very frequent words
(Latin and Devanagari). Good enough to show a visitor "this looks like Spanish"; not a research-grade identifier.
Codes are ISO 639-3 as in the project's datasets (`eng`, `arb`, `zho`, ...).
"""

from __future__ import annotations

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
# Scripts only one of LANGUAGES is written in here (Ethiopic is Amharic's; Tigrinya would need more).
_SCRIPT_LANGUAGE = {
    "Greek": "ell", "Armenian": "hye", "Hebrew": "heb", "Bengali": "ben", "Gurmukhi": "pan", "Gujarati": "guj",
    "Oriya": "ori", "Tamil": "tam", "Telugu": "tel", "Kannada": "kan", "Malayalam": "mal", "Sinhala": "sin",
    "Thai": "tha", "Myanmar": "mya", "Georgian": "kat", "Hangul": "kor", "Ethiopic": "amh", "Khmer": "khm",
    "Han": "zho", "Japanese": "jpn",
}
# Frequent words per language; each occurrence is evidence for the languages that list it (shared words count less).
_STOP_WORDS = {
    "eng": "the and is are am was were to of in that it this for with you i me not be have has they we on at but "
    "my so what can will just been would there their about from your our",
    "spa": "el la los las de del que y en un una es por para con no se lo muy pero más como está son su al me mi "
    "porque todo esto qué ya hay también nos fue estoy después",
    "deu": "der die das und ist nicht ich sie es ein eine zu mit auf für den dem des von sich auch wir aber wie "
    "sind war noch nach wird habe dass bei schon mir mich wenn nur oder",
    "fra": "le la les de des du c'est et est un une que qui pas ne je il elle nous vous dans pour sur avec ce "
    "cette mais plus sont au aux très tout été ça",
    "ita": "il lo gli le di che è un una non per con sono ma del della questo questa anche come più mi ho ha si "
    "nel alla perché molto tutto già essere",
    "por": "de que os não para com em do da dos das por mais mas como eu ele ela muito isso está são foi ao "
    "também você seu sua nós uma um é",
    "nld": "de het een en van is dat niet ik je op te zijn met voor er maar om ook als bij nog wat wij heeft "
    "hebben dit deze naar geen kan wel",
    "pol": "i w nie się na to jest że z do jak co ale tak za po od już jestem był była są ten ta tego mnie tylko "
    "czy bardzo przez dla może",
    "tur": "ve bir bu da de için ile çok ne ama gibi daha olarak değil var yok ben sen biz onlar şu mi mı her "
    "kadar sonra diye olan bunu beni hiç",
    "swa": "na ya wa kwa ni katika za cha hii huo kuwa sana lakini kama hata watu mimi wewe yeye sisi wao tu "
    "pia hiyo hapa leo asante bado kila",
    "hau": "wannan kuma amma shi ita ga don daga cikin ake yi sun akwai har wani wata mai sosai kai babu yadda "
    "ba ta ce ne su mu",
    "ind": "yang dan di ini itu dengan untuk tidak dari dalam akan pada juga saya kami kita mereka ada bisa sudah "
    "atau karena sangat tapi lebih seperti apa aku kamu",
    "ron": "și în cu pe nu este sunt că care mai din pentru ce se am fost foarte dar al ale lui acest această eu ei",
    "swe": "och att det som en på är av för med till den har inte om ett men jag var så vi du han hon från kan "
    "också mycket",
    "fin": "ja on ei se että hän oli ovat mutta kun niin tämä minä sinä me te he kuin myös jo vain olen ole "
    "siitä hyvin nyt mitä joka",
    "afr": "die en is nie het van ek jy ons hulle wat om te met vir was sal kan baie maar ook",
    "rus": "и в не на что это как очень но они мы вы я он она был была так все его только уже меня нет",
    "ukr": "і в не на що це як дуже але вони ми ви я він вона був була так все його тільки вже мене немає та",
    "hin": "है हैं के की का में और यह से को नहीं था थी पर भी हूँ मुझे हम आप वह बहुत कि लिए",
    "nep": "छ छन् मा र हो पनि गर्न भएको छैन थियो लाई हरू म हामी तपाईं यो त्यो धेरै गरेको",
    "mar": "आहे आणि या ला मी नाही तर हे की होते आम्ही तुम्ही खूप आहेत झाले",
}
_STOP_WORDS = {code: frozenset(words.split()) for code, words in _STOP_WORDS.items()}
_WORD_LANGUAGES: dict[str, list[str]] = {}
for _code, _words_of_language in _STOP_WORDS.items():
    for _word in _words_of_language:
        _WORD_LANGUAGES.setdefault(_word, []).append(_code)
# Letters that point to one language of a shared script: (language, letters).
_DISTINCTIVE_LETTERS = [
    ("spa", "ñ¿¡"), ("deu", "ß"), ("pol", "ąćęłńśźż"), ("tur", "ğış"), ("por", "ãõ"), ("fra", "œç"),
    ("ron", "ășț"), ("hau", "ƙɗɓƴ"), ("ukr", "іїєґ"), ("rus", "ыэъё"),
]
_URDU_LETTERS = set("ٹڈڑںےۓھ")
_PERSIAN_LETTERS = set("پچژگیک")


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


def detect_language(text: str) -> Detection:
    """Guess the language of `text` from its script and, for shared scripts, distinctive letters and words."""
    script = dominant_script(text)
    if script is None:
        return Detection(None, None, certain=False)
    if script in _SCRIPT_LANGUAGE:
        return Detection(_SCRIPT_LANGUAGE[script], script)
    letters = set(text.lower())
    if script == "Arabic":
        if letters & _URDU_LETTERS:
            return Detection("urd", script)
        if letters & _PERSIAN_LETTERS:
            return Detection("fas", script)
        return Detection("arb", script)
    candidates = {code for code, (_, _, code_script) in LANGUAGES.items() if code_script == script}
    scores = Counter({code: 0.0 for code in candidates})
    for word in _words(text):
        sharing = [code for code in _WORD_LANGUAGES.get(word, ()) if code in candidates]
        for code in sharing:
            scores[code] += 1 / len(sharing)
    for code, hints in _DISTINCTIVE_LETTERS:
        if code in candidates:
            scores[code] += 0.5 * len(letters & set(hints))
    ranked = scores.most_common(2)
    if not ranked or ranked[0][1] == 0:
        # Without a known word, Cyrillic is most often Russian and Devanagari Hindi; Latin tells nothing.
        fallback = {"Cyrillic": "rus", "Devanagari": "hin"}.get(script)
        return Detection(fallback, script, certain=False)
    best, best_score = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    return Detection(best, script, certain=best_score >= 1.5 and best_score - runner_up >= 1)
