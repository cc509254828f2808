"""Example texts for the page, written for this Space (none is taken from a corpus): (language code, text)."""

EXAMPLES: list[tuple[str, str]] = [
    ("eng", "I can't believe they cancelled the concert again. I am so angry and disappointed!"),
    ("eng", "People who vote for that party are traitors and should leave this country for good."),
    ("spa", "¡Qué alegría! Por fin volvemos a ver a nuestra familia después de tantos años."),
    ("deu", "Ich habe wirklich Angst, dass die Lage nach der Wahl noch schlimmer wird."),
    ("arb", "أنا سعيد جدا لأنني نجحت في الامتحان بعد تعب طويل."),
    ("urd", "یہ لوگ ہمیشہ ہمارے مذہب کا مذاق اڑاتے ہیں، یہ بالکل ناقابل برداشت ہے۔"),
    ("rus", "Эти политики всегда врут народу, им нельзя верить ни в чём."),
    ("zho", "今天收到了朋友寄来的礼物，我真的太惊喜了！"),
    ("hin", "यह खबर सुनकर मुझे बहुत दुख हुआ, भगवान उनके परिवार को शक्ति दे।"),
    ("swa", "Nimefurahi sana kukutana na wewe leo, asante kwa msaada wako."),
    ("tur", "Bu haberi duyunca çok şaşırdım, hiç beklemiyordum."),
]
