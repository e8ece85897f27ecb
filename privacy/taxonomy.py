"""The closed vocabularies a report is made of. Closed on purpose: free-form categories or
times would let a report carry identifying detail into aggregates. Codes are stable API;
labels are nl/en. The database CHECK constraints in api/migrations list the same codes
(tests/api/test_taxonomy.py keeps them in step).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Term:
    code: str
    nl: str
    en: str
    description_nl: str = ""
    description_en: str = ""


CATEGORIES: tuple[Term, ...] = (
    Term(
        "verbal",
        "Verbale opmerkingen / nafluiten",
        "Verbal comments / catcalling",
        "Seksueel getinte opmerkingen, sissen, naroepen.",
        "Sexual comments, hissing, shouting after someone.",
    ),
    Term(
        "nonverbal",
        "Non-verbaal (staren, gebaren, fluiten)",
        "Non-verbal (staring, gestures, whistling)",
        "Indringend staren, obscene gebaren, fluiten, kusgeluiden.",
        "Intrusive staring, obscene gestures, whistling, kissing noises.",
    ),
    Term(
        "following",
        "Achtervolgen / stalken",
        "Following / stalking",
        "Iemand loopt, fietst of rijdt je achterna.",
        "Someone follows you on foot, by bike or by car.",
    ),
    Term(
        "physical",
        "Fysiek (aanraken / betasten)",
        "Physical (touching / groping)",
        "Ongewenst aanraken, betasten, vastpakken, de weg versperren.",
        "Unwanted touching, groping, grabbing, blocking the way.",
    ),
    Term(
        "exposure",
        "Exhibitionisme",
        "Indecent exposure",
        "Iemand laat ongevraagd geslachtsdelen zien of masturbeert.",
        "Someone exposes themselves or masturbates in view.",
    ),
    Term(
        "filming",
        "Fotograferen / filmen",
        "Photographing / filming",
        "Zonder toestemming foto's of video's maken.",
        "Taking photos or videos without consent.",
    ),
    Term(
        "threat",
        "Bedreiging / intimidatie",
        "Threats / intimidation",
        "Dreigen, intimideren, agressief benaderen.",
        "Threatening, intimidating, approaching aggressively.",
    ),
    Term(
        "other",
        "Anders",
        "Other",
        "Iets anders dat je onveilig deed voelen.",
        "Something else that made you feel unsafe.",
    ),
)

ROLES: tuple[Term, ...] = (
    Term("victim", "Het overkwam mij", "It happened to me"),
    Term("witness", "Ik zag het gebeuren", "I witnessed it"),
)

# Bands in local (Europe/Amsterdam) time; the reporter picks one, the server never sees a clock.
BANDS: tuple[Term, ...] = (
    Term("night", "Nacht (0-6 uur)", "Night (00:00-06:00)"),
    Term("morning", "Ochtend (6-12 uur)", "Morning (06:00-12:00)"),
    Term("afternoon", "Middag (12-18 uur)", "Afternoon (12:00-18:00)"),
    Term("evening", "Avond (18-24 uur)", "Evening (18:00-24:00)"),
)
BAND_HOURS = {"night": (0, 6), "morning": (6, 12), "afternoon": (12, 18), "evening": (18, 24)}

FELT_SAFETY: tuple[Term, ...] = (
    Term("1", "Heel onveilig", "Very unsafe"),
    Term("2", "Onveilig", "Unsafe"),
    Term("3", "Neutraal", "Neutral"),
    Term("4", "Veilig", "Safe"),
    Term("5", "Heel veilig", "Very safe"),
)

LANGUAGES = ("nl", "en")
CATEGORY_CODES = frozenset(t.code for t in CATEGORIES)
ROLE_CODES = frozenset(t.code for t in ROLES)
BAND_CODES = frozenset(t.code for t in BANDS)
