"""Clear safeguarding words — violence, abuse, trafficking, suicide and the like — in every
launch language and romanized. Seen in any message, in any flow, they make the person's open
requests urgent and any request they open next urgent and flagged for safeguarding.

Deliberately broad: a false alarm costs a caseworker a look; a missed one can cost a life.
Drafted by the team, to be reviewed by native speakers and safeguarding staff.
"""

from __future__ import annotations

import re
from typing import Final

LATIN: Final = (
    # English
    "violence", "violent", "abuse", "abused", "abusing", "beat me", "beats me", "beating me",
    "beaten", "hit me", "hits me", "rape", "raped", "sexual", "trafficked", "trafficking",
    "suicide", "kill myself", "want to die", "end my life", "locked in", "locked me",
    "lock me", "threatened", "threatens me", "hurt me", "hurts me", "forced to work",
    "harass", "harassed",
    # Spanish
    "violencia", "abuso", "abusada", "abusado", "me pega", "me golpea", "golpeada",
    "golpeado", "violación", "violacion", "violada", "trata de personas", "suicidio",
    "quiero morir", "matarme", "me amenaza", "encerrada", "encerrado",
    # Romanized Bengali, Hindi, Nepali, Tamil, Sinhala
    "nirjaton", "mar dhor", "maredhor", "dhorshon", "atmohotta", "more jete chai", "pachar",
    "marpeet", "maarpeet", "maarta hai", "balatkar", "atmahatya", "marna chahta",
    "marna chahti", "taskari", "dhamki", "shoshan", "kutpit", "marna man", "bechbikhan",
    "vanmurai", "adikiraanga", "adikiran", "thatkolai", "tharkolai", "saaganum", "kadathal",
    "mirattal", "gahanawa", "gahuwa", "dushana", "siyadivi", "marenna one", "tharjana",
)  # fmt: skip
OTHER_SCRIPTS: Final = (
    # Bengali
    "নির্যাতন", "মারধর", "ধর্ষণ", "আত্মহত্যা", "মরে যেতে চাই", "পাচার", "হুমকি",
    # Hindi
    "हिंसा", "मारपीट", "पीटता", "बलात्कार", "आत्महत्या", "मरना चाहता", "मरना चाहती",
    "तस्करी", "धमकी", "शोषण",
    # Nepali
    "कुटपिट", "मर्न मन", "बेचबिखन", "धम्की",
    # Tamil
    "வன்முறை", "அடிக்கிறார்", "அடித்தார்", "பாலியல்", "தற்கொலை", "சாக வேண்டும்", "கடத்தல்",
    "மிரட்டல்",
    # Sinhala
    "හිංසා", "ගහනවා", "ගැහුවා", "දූෂණ", "සියදිවි", "මැරෙන්න ඕනේ", "ජාවාරම", "තර්ජන",
    # Dhivehi
    "އަނިޔާ", "ތަޅާ", "ރޭޕް", "ފުރާނަ ނަގަން", "ބިރުދައްކާ", "މީހުން ވިއްކުން", "ހަމަލާ",
)  # fmt: skip

_LATIN = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in LATIN) + r")\b", re.IGNORECASE)


def raises_alarm(text: str) -> bool:
    """Whether the message contains a clear safeguarding word."""
    if _LATIN.search(text):
        return True
    return any(word in text for word in OTHER_SCRIPTS)
