"""Toxicity check for the statements residents write in the deliberation chatbot.

What it decides
    Every statement gets a `ToxicityResult`: `Verdict.TOXIC` (refused: the resident is asked to
    rephrase), `Verdict.DOUBT` (accepted into the human moderation queue, never refused) or
    `Verdict.CLEAN`. The verdict is always the one the ``score`` falls in: ``score >=
    TOXIC_THRESHOLD`` is TOXIC, ``score >= DOUBT_THRESHOLD`` is DOUBT, anything lower CLEAN.
    ``categories`` say why (``threat``, ``slur``, ``insult``, ``profanity``, ``quoted``,
    ``model``) and never contain the words that matched, so results can be logged and shown.

The domain fact this is built around
    Residents write about street harassment, so they quote what was shouted at them ("hij riep
    hoer naar me", "he called me a whore"). A slur, insult or curse word alone is therefore never
    TOXIC, only DOUBT: a moderator reads it. TOXIC is reserved for threats, incitement and
    wishing death or violence on someone ("ik maak je dood", "I will kill you", "kill yourself",
    "die moeten allemaal dood", "hang them high") and for a configured model's high-confidence score.
    A threat that is reported rather than made - a reporting verb such as "riep", "zei",
    "shouted", "said" just before or after it, as in "hij riep: ik maak je dood" - is DOUBT with
    the category ``quoted``: a moderator decides, the resident is not refused for describing
    what happened to them.

The lexicon (`LexiconChecker`, standard library only, deterministic)
    Dutch and English word lists (slurs, insults, profanity) and threat phrases, matched on
    `chatbot.nlp.normalise`d text as whole words, per sentence. Simple evasion is undone first:
    ``@ $ ! |`` between letters and digits inside words are read as letters ("h0er", "k1ll",
    "b!tch"), letters repeated three or more times are collapsed ("hoeeeer", "diiiie"), and runs
    of three or more single letters are joined ("k y s"). Dutch disease curses are also found in
    compounds ("kankerlijer", "tyfushoer", "teringzooi") but "kanker" is matched as a prefix only
    before a word for a person, so medical words ("kankeronderzoek", "borstkanker",
    "kankerlijder") stay CLEAN; the bare word "kanker" is DOUBT. What it cannot do: it knows
    nothing of meaning, so abuse in other words, other languages or heavier disguise passes as
    CLEAN, and an innocent sentence that happens to contain a listed phrase is flagged.

The model (`ModelChecker`, optional)
    A local transformers sequence-classification model, loaded offline like `chatbot.nlp`'s
    embedder (`load_toxicity`). Its score is the highest probability over its toxic labels
    (softmax, or sigmoid for multi-label models); the verdict is the more severe of the model's
    and the lexicon's, so threats are caught even when the model misses them.
"""

from __future__ import annotations

import enum
import itertools
import logging
import math
import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from chatbot import nlp

log = logging.getLogger(__name__)

__all__ = [
    "DOUBT_THRESHOLD",
    "TOXIC_THRESHOLD",
    "LexiconChecker",
    "ModelChecker",
    "ToxicityChecker",
    "ToxicityResult",
    "ToxicityStatus",
    "Verdict",
    "load_toxicity",
    "verdict_for",
]

TOXIC_THRESHOLD = 0.9
"""A score at or above this is TOXIC (refused)."""
DOUBT_THRESHOLD = 0.5
"""A score at or above this (and below `TOXIC_THRESHOLD`) is DOUBT (moderation queue)."""

BATCH_SIZE = 32

# Lexicon scores per category: one threat is enough to refuse; anything else only asks a human.
CATEGORY_SCORES: Mapping[str, float] = {
    "threat": 1.0,
    "slur": 0.7,
    "insult": 0.6,
    "profanity": 0.55,
}
QUOTED_THREAT_SCORE = 0.8


class Verdict(enum.StrEnum):
    """CLEAN: publish; DOUBT: hold for a moderator; TOXIC: refuse and ask to rephrase."""

    CLEAN = "clean"
    DOUBT = "doubt"
    TOXIC = "toxic"


def verdict_for(score: float) -> Verdict:
    """The verdict for a score: TOXIC at `TOXIC_THRESHOLD` and above, DOUBT at `DOUBT_THRESHOLD`
    and above, else CLEAN."""
    if score >= TOXIC_THRESHOLD:
        return Verdict.TOXIC
    if score >= DOUBT_THRESHOLD:
        return Verdict.DOUBT
    return Verdict.CLEAN


@dataclass(frozen=True)
class ToxicityResult:
    """The check's outcome for one text.

    Invariant: ``0 <= score <= 1`` and ``verdict == verdict_for(score)``. ``method`` is
    "lexicon" or "model:<name>+lexicon". ``categories`` names the kinds of problem found
    ("threat", "slur", "insult", "profanity", "quoted", "model"; empty when CLEAN) and never
    contains any of the text's words."""

    verdict: Verdict
    score: float
    method: str
    categories: frozenset[str] = frozenset()


@runtime_checkable
class ToxicityChecker(Protocol):
    """Checks texts; returns exactly one `ToxicityResult` per input text, in order, and never
    raises for any ``str`` (a bare string instead of a sequence is a TypeError)."""

    name: str

    def check(self, texts: Sequence[str]) -> list[ToxicityResult]: ...


ToxicityStatus = nlp.NlpStatus  # what the loader ended up with: model, path, reason ("loaded" or why not)


# ------------------------------------------------------------------------------------ lexicon data


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words are listed in normalised form (lower case, no accents or apostrophes) with the inflected
# forms that matter; a trailing "s"/"es" is also tried. Left out on purpose, because they are
# ordinary words too: "hoe" (Dutch "how"), "pest", "poes", "zak", "nicht", "pik", "aap", "mof",
# "spic" ("spic en span"), "dick" (a first name), "homo" (a neutral self-description),
# "idioot"/"idiot" and "achterlijk" (mostly "an idiotic rule"), "creep"/"viespeuk" (how residents
# describe harassers), "shit", "damn", "verdomme" (too mild to hold a statement for).
_NL_WORDS: Mapping[str, frozenset[str]] = {
    "slur": _words(
        "hoer hoeren hoertje hoertjes slet sletten sloerie sloeries teef teven kech kechs flikker "
        "flikkers mietje mietjes neger negers nikker nikkers bosneger bosnegers zandneger "
        "zandnegers makak makakken geitenneuker geitenneukers spleetoog spleetogen mongool "
        "mongolen bruinwerker bruinwerkers stoephoer stoephoeren"
    ),
    "insult": _words(
        "klootzak klootzakken lul lullen eikel eikels sukkel sukkels debiel debielen randdebiel "
        "hufter hufters schoft schoften smeerlap smeerlappen rotzak rotzakken lulzak trut trutten "
        "wijf wijven oetlul zakkenwasser zakkenwassers"
    ),
    "profanity": _words(
        "kut kanker kankers kkr tyfus tiefus tering kolere klere godverdomme godverdomne godver "
        "godskolere neuk neuken geneukt pleuris"
    ),
}
_EN_WORDS: Mapping[str, frozenset[str]] = {
    "slur": _words(
        "whore whores slut sluts bitch bitches skank skanks cunt cunts thot faggot faggots fag fags "
        "dyke dykes tranny trannies nigger niggers nigga niggas chink chinks gook gooks kike kikes "
        "paki pakis wetback wetbacks raghead ragheads towelhead towelheads retard retards "
        "retarded spastic spaz"
    ),
    "insult": _words(
        "moron morons imbecile asshole assholes arsehole arseholes dickhead dickheads prick pricks "
        "wanker wankers bastard bastards scumbag scumbags douchebag douchebags dumbass jackass "
        "shithead shitheads twat twats tosser tossers bellend knobhead"
    ),
    "profanity": _words(
        "fuck fucks fucking fuckin fucked fucker fuckers fck fuk fking fkn motherfucker "
        "motherfuckers cocksucker cocksuckers bollocks"
    ),
}
# Single "words" that are threats in themselves.
_THREAT_WORDS = _words("kys")

# Dutch curse compounds: a curse prefix before a word for a person ("kankerlijer", "kutwijf",
# "hoerenkind"). "kanker" and "kut" count only before such a word ("kankeronderzoek",
# "kankerlijder", "kankerpatient" are medical); the prefixes in _ALWAYS_PROFANE make any compound
# profane ("teringherrie", "tyfuszooi").
_CURSE_PREFIXES = (
    "kanker", "kutte", "kut", "tyfus", "tiefus", "tering", "klere", "kolere", "hoeren", "hoere", "takke", "pleuris",
)  # fmt: skip
_ALWAYS_PROFANE = frozenset({"tyfus", "tiefus", "tering", "kolere", "pleuris"})
_PERSON_STEMS: Mapping[str, str] = {
    **dict.fromkeys(
        _words(
            "lijer lijers lyer lyers wijf wijven zak zakken kop koppen hond honden kind kinderen lul "
            "trut gast gasten vent venten man mannen vrouw vrouwen jongen jongens meid meiden "
            "sukkel eikel debiel idioot"
        ),
        "insult",
    ),
    **dict.fromkeys(
        _words(
            "hoer hoeren homo homos flikker flikkers jood joden neger negers nikker marokkaan "
            "marokkanen turk turken surinamer surinamers allochtoon allochtonen buitenlander "
            "buitenlanders mongool mongolen kech slet sletten teef teven nicht nichten pot potten "
            "lesbo"
        ),
        "slur",
    ),
}

# Phrases, matched on one normalised sentence at a time (so "$" is the end of the sentence).
_NL_PERSON = r"(?:je|jou|jij|u|jullie|hem|haar|ze|zij|hun|name)"  # name: the [name] placeholder
_NL_TARGET = rf"(?:{_NL_PERSON}|(?:die|dat|deze|dit|jullie|al die|alle) \w+)"
_EN_PERSON = r"(?:you|u|ya|yall|you all|him|her|them|em|name)"
_EN_TARGET = (
    rf"(?:{_EN_PERSON}|those \w+|these \w+|your (?:\w+ )?(?:family|kids|children|wife|husband|mother|mom|mum"
    r"|father|dad|sister|brother|girlfriend|boyfriend|daughter|son|face|head|throat|ass))"
)
# Between "I will" and the verb: "I will fucking kill you", "we will find you and kill you".
_EN_FILLER = (
    r"(?:(?:fucking|personally|literally|actually|just|really|definitely|totally|come|go|come and|go and"
    rf"|find {_EN_PERSON} and|hunt {_EN_PERSON} down and|track {_EN_PERSON} down and) )"
)
_NEGATION = r"(?:niet|nooit|geen|niemand|not|never|dont|wont|nobody|no one|let|help)"
_GAP = rf"(?:(?!{_NEGATION} )\w+ )"  # one word that is not a negation (or "let"/"help")

_NL_THREATS = (
    # "ik maak je dood", "ik steek die gast neer", "ik sla je in elkaar", "ik maak je af"
    rf"ik (?:sla|steek|schiet|trap|schop|knal|snij|hak|mep|ram|rag|stamp|maak) {_NL_TARGET} {_GAP}{{0,2}}"
    r"(?:dood|neer|lek|verrot|helemaal verrot|in elkaar|de keel door|aan stukken|aan flarden|het ziekenhuis in)",
    rf"ik maak {_NL_PERSON} af",
    rf"ik (?:vermoord|verkracht|wurg|slacht) {_NL_TARGET}",
    # "ik ga je vermoorden", "ik zal jullie allemaal afmaken"
    rf"(?:ik|wij|we) (?:ga|gaan|zal|zullen|kom|komen|wil|willen) {_NL_TARGET} {_GAP}{{0,2}}"
    r"(?:vermoorden|verkrachten|doodmaken|dood maken|afmaken|doodslaan|dood slaan|doodsteken|doodschieten"
    r"|dood schieten|neersteken|neerschieten|afslachten|wurgen|onthoofden|in elkaar slaan|in elkaar trappen"
    r"|lek steken|kapotslaan|kapot slaan|aftuigen)",
    r"ik weet waar (?:je|jij|u|jullie) (?:woont|wonen|woon)",
    # wishing death, violence or disease
    rf"(?:ik )?(?:hoop|wens) dat {_NL_TARGET} {_GAP}{{0,3}}"
    r"(?:doodgaat|doodgaan|dood gaat|dood gaan|sterft|sterven|crepeert|creperen|verrekt|verrekken"
    r"|verkracht wordt|verkracht worden|vermoord wordt|vermoord worden|kanker krijgt|kanker krijgen"
    r"|de kanker krijgt|de tyfus krijgt|doodgeschoten wordt|in elkaar geslagen wordt)",
    r"(?<!ik )(?<!we )(?<!wij )krijg (?:toch |allemaal |gewoon )*(?:de |het )?"
    r"(?:kanker|kk|kkr|tyfus|tering|klere|kolere|pleuris|pokken)",
    r"(?<!ik )(?<!we )(?<!wij )(?:ga|val) (?:toch |maar |lekker |gewoon |nou )*dood",
    r"(?:pleeg|doe) (?:toch |maar |gewoon |nou )*zelfmoord",
    r"(?:hang|knoop) (?:je|jezelf) (?:toch |maar |gewoon |nou )*op",
    r"ga (?:je|jezelf) (?:toch |maar |gewoon |nou )*ophangen",
    r"maak (?:je|jezelf) (?:toch |maar |gewoon |nou )*van kant",
    r"spring (?:toch |maar |gewoon |nou )*(?:voor de trein|voor een trein|van (?:een|de) (?:brug|flat))",
    # incitement: "die moeten allemaal dood", "ze moeten opgehangen worden", "dood aan de ..."; words that
    # also fit things ("opgehangen": posters, "afgemaakt": work) only after a pronoun, at the sentence's end
    r"(?:die|ze|zij|jullie|hun|dat soort \w+|zulke \w+|zon \w+|al die \w+|alle \w+|die \w+) "
    rf"(?:moeten|moet|mogen|mag|horen|zouden moeten) {_GAP}{{0,2}}"
    r"(?:dood|vergast|doodgeschoten|gelyncht|onthoofd|verkracht|de kogel)(?: (?:te )?worden)?",
    rf"(?:die|ze|zij|jullie|hun) (?:moeten|moet|mogen|mag|horen) {_GAP}{{0,2}}"
    r"(?:opgehangen|afgemaakt|tegen de muur)(?: (?:te )?(?:worden|gezet))?$",
    r"^dood aan (?:alle |de |die |het )?\w+",  # at the start: "hij ging dood aan de gevolgen" is no call
    r"(?:hang|knoop) (?:ze|die \w+|hem|haar) (?:allemaal )?op aan (?:de |een )?(?:hoogste )?"
    r"(?:boom|bomen|galg|lantaarnpaal|lantaarnpalen)",
    r"een kogel (?:door|in) (?:je|jouw|zijn|haar|hun|die) (?:kop|hoofd|kanus|harses)",
)
_EN_THREATS = (
    # "I will kill you", "I'll kill you" (normalised "ill"), "I'm gonna stab him", "we will find you and kill you"
    r"(?:(?:i|we) (?:will|shall|would|am going to|are going to|gonna|wanna|want to|am gonna|are gonna|gunna)"
    r"|ill|id|im going to|im gonna|im gunna|were going to|were gonna) "
    rf"{_EN_FILLER}{{0,2}}(?:(?:kill|murder|stab|rape|strangle|slit|slaughter|behead|butcher) {_EN_TARGET}"
    rf"|(?:shoot|hurt|punch|bash|burn|choke|fuck up|beat the (?:shit|crap|hell) out of) {_EN_PERSON}"
    rf"|beat {_EN_PERSON} up|bash your (?:\w+ )?head in)",
    r"(?:go )?(?:kill|hang|shoot) (?:yourself|your self|urself|ur self|yourselves|yoself)(?! in the foot| laughing)",
    r"go (?:and |ahead and |just )?die",
    r"(?:go |just )?drop dead(?! (?:gorgeous|beautiful|handsome|funny|serious|tired))",
    rf"(?:i )?(?:hope|wish|pray) (?:that )?(?:you|u|ya|he|she|they|name|your \w+) {_GAP}{{0,2}}"
    r"(?:die|dies|get raped|gets raped|get killed|gets killed|get shot|gets shot|get stabbed|burn|burns|rot"
    r"|get cancer|gets cancer|drop dead|drops dead|get hit by a car)",
    # incitement: "they should all die", "all men should die"; "be shot"/"be killed" fit things too ("these
    # scenes should be shot"), so only after a pronoun
    r"(?:you|u|they|he|she|name|people like (?:you|that|them|him|her)|those \w+|these \w+|all \w+) "
    r"(?:should|must|need to|needs to|deserve to|deserves to|ought to)(?: all)? "
    r"(?:die|be raped|get raped|be gassed|be lynched|be hanged|burn in hell)",
    r"(?:you|u|they|he|she|name|people like (?:you|that|them|him|her)) "
    r"(?:should|must|need to|needs to|deserve to|deserves to|ought to)(?: all)? "
    r"(?:be killed|be shot|be stabbed|be exterminated|be murdered)",
    r"i know where (?:you|u|ya) (?:live|sleep)",
    r"(?:youre|you are|ur|u r|u are) (?:so |a )?dead (?:meat|man|woman|bitch)",
    r"(?:kill|gas|hang|shoot|burn|lynch|murder) (?:them|em|those \w+|these \w+) all",
    r"(?:kill|gas|lynch|murder) all \w+",
    r"(?<!to )death to (?:all |the )?\w+",
    # not a bare "hang them": posters and banners get hung too ("print posters and hang them")
    r"hang (?:them|em|him|her|those \w+|these \w+|all \w+)(?: all)?"
    r"(?: high| from (?:a|the|every|the nearest|the highest) (?:tree|trees|lamppost|lampposts|gallows|bridge))$",
    r"(?:lynch|gas) (?:them|em|him|her)",
    r"burn (?:them|em|him|her) alive",
)
# Phrases that are hostile but not threats: held for a moderator.
_INSULT_PHRASES = (
    r"(?:ga|rot|pleur|sodemieter|donder|flikker|tyf|kanker) (?:toch |maar |nou |gewoon )*"
    r"(?:terug )?(?:naar|op naar) (?:je|jouw) (?:eigen )?(?:land|landje)",
    r"(?:pleur|sodemieter|tyf|kanker|flikker|donder) (?:toch |maar |nou |gewoon )*op",
    r"go back (?:to|where) (?:your|you|ya) (?:own )?(?:country|came from|come from)",
    r"fuck (?:you|u|off|ya|yourself)",
    r"piece of shit",
    r"son of a bitch",
)
# Reporting verbs: a threat near one of these is being described, not made.
_REPORTING_VERBS = _words(
    "riep riepen roept roepen zei zeiden zegt zeggen schreeuwde schreeuwden schreeuwt schreeuwen brulde "
    "brulden brult gilde gilden siste fluisterde mompelde appte appten stuurde stuurden schreef schreven "
    "dreigde dreigden dreigt noemde noemden noemt gezegd geroepen geschreeuwd "
    "said says shouted shouts yelled yells screamed screams told tells called calls whispered "
    "muttered texted wrote threatened threatens hissed saying shouting yelling screaming telling "
    "calling threatening"
)
_REPORT_WINDOW_BEFORE = 8
_REPORT_WINDOW_AFTER = 4


def _phrase_pattern(patterns: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:(?<!\\S)(?:{p})(?!\\S))" for p in patterns))


_THREAT_PATTERN = _phrase_pattern((*_NL_THREATS, *_EN_THREATS))
_INSULT_PATTERN = _phrase_pattern(_INSULT_PHRASES)
_WORD_CATEGORY: Mapping[str, str] = {
    word: category
    for words in (_NL_WORDS, _EN_WORDS)
    for category in ("profanity", "insult", "slur")  # the later (more severe) category wins
    for word in words[category]
}

# Evasion: symbols between letters read as letters, digits inside words read as letters.
_SYMBOL_LETTERS = re.compile(r"(?<=[^\W\d_])[@$!|](?=[^\W\d_])")
_SYMBOL_MAP = {"@": "a", "$": "s", "!": "i", "|": "l"}
_LEET_I = str.maketrans("013457", "oieast")
_LEET_L = str.maketrans("013457", "oleast")
_REPEATS = re.compile(r"([^\W\d_])\1{2,}")
_SENTENCE_END = re.compile(r"[.!?;\u2026]+(?=\s|$)|[\r\n]+")


# --------------------------------------------------------------------------------- lexicon logic


def _canonical(word: str, leet: dict[int, int], keep: int) -> str:
    if not word.isalpha() and any(ch.isdigit() for ch in word) and any(ch.isalpha() for ch in word):
        word = word.translate(leet)
    if len(word) > 2:
        word = _REPEATS.sub(lambda m: m.group(1) * keep, word)
    return word


def _join_spaced(words: list[str]) -> list[str]:
    """Runs of three or more single letters become one word ("k y s" -> "kys")."""
    out: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if len(word) == 1 and word.isalpha():
            run.append(word)
            continue
        out.extend(["".join(run)] if len(run) >= 3 else run)
        run = []
        if word:
            out.append(word)
    return out


def _variants(sentence: str) -> list[list[str]]:
    """The sentence's normalised words, and the same with evasion undone two ways."""
    base = nlp.normalise(sentence).split()
    if not base:
        return []
    first = [_canonical(word, _LEET_I, 1) for word in base]
    second = [_canonical(word, _LEET_L, 2) for word in base]
    variants = [base, first, second, _join_spaced(first)]
    unique: dict[tuple[str, ...], list[str]] = {}
    for variant in variants:
        unique.setdefault(tuple(variant), variant)
    return list(unique.values())


def _word_category(word: str) -> str | None:
    category = _WORD_CATEGORY.get(word)
    if category is not None:
        return category
    if word in _THREAT_WORDS:
        return "threat"
    for suffix in ("s", "es"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            category = _WORD_CATEGORY.get(word[: -len(suffix)])
            if category is not None:
                return category
    for prefix in _CURSE_PREFIXES:
        if word.startswith(prefix) and len(word) > len(prefix):
            rest = word[len(prefix) :]
            stem = _PERSON_STEMS.get(rest)
            if stem is not None:
                return stem
            if prefix in _ALWAYS_PROFANE and len(rest) >= 3:
                return "profanity"
    return None


def _is_reported(words: list[str], start_word: int, end_word: int, following: list[str]) -> bool:
    before = words[max(0, start_word - _REPORT_WINDOW_BEFORE) : start_word]
    after = (words[end_word:] + following)[:_REPORT_WINDOW_AFTER]
    return any(word in _REPORTING_VERBS for word in itertools.chain(before, after))


def _sentences(text: str) -> Iterator[str]:
    text = _SYMBOL_LETTERS.sub(lambda m: _SYMBOL_MAP[m.group(0)], unicodedata.normalize("NFKC", text))
    for part in _SENTENCE_END.split(text):
        if part.strip():
            yield part


def _lexicon_categories(text: str) -> set[str]:
    """Categories found in one text; a threat near a reporting verb adds "quoted" and no "threat"
    of its own unless the text also holds a threat that is not reported."""
    categories: set[str] = set()
    threats = reported = 0
    sentences = [_variants(sentence) for sentence in _sentences(text)]
    sentences = [variants for variants in sentences if variants]
    for index, variants in enumerate(sentences):
        following = sentences[index + 1][0] if index + 1 < len(sentences) else []
        for words in variants:
            for position, word in enumerate(words):
                category = _word_category(word)
                if category == "threat":
                    threats += 1
                    reported += _is_reported(words, position, position + 1, following)
                elif category is not None:
                    categories.add(category)
            joined = " ".join(words)
            if _INSULT_PATTERN.search(joined):
                categories.add("insult")
            for match in _THREAT_PATTERN.finditer(joined):
                threats += 1
                start_word = joined.count(" ", 0, match.start())
                end_word = start_word + match.group(0).count(" ") + 1
                reported += _is_reported(words, start_word, end_word, following)
    if threats:
        categories.add("threat")
        if reported == threats:
            categories.add("quoted")
    return categories


def _lexicon_score(categories: set[str] | frozenset[str]) -> float:
    if "threat" in categories and "quoted" in categories:
        scores = [QUOTED_THREAT_SCORE, *(CATEGORY_SCORES[c] for c in categories if c not in {"threat", "quoted"})]
    else:
        scores = [CATEGORY_SCORES[c] for c in categories if c in CATEGORY_SCORES]
    return max(scores, default=0.0)


class LexiconChecker:
    """Dutch and English word lists and threat phrases (see the module docstring).

    Standard library only and deterministic. One result per text, ``method`` "lexicon", score
    1.0 for an unreported threat (TOXIC), 0.8 for a reported one, 0.7 / 0.6 / 0.55 for a slur /
    insult / curse (DOUBT), 0.0 for none (CLEAN)."""

    name = "lexicon"

    def check(self, texts: Sequence[str]) -> list[ToxicityResult]:
        if isinstance(texts, str):
            raise TypeError("check() takes a sequence of texts, not a single string")
        results = []
        for text in texts:
            categories = _lexicon_categories(text)
            score = _lexicon_score(categories)
            results.append(ToxicityResult(verdict_for(score), score, "lexicon", frozenset(categories)))
        return results

    def __repr__(self) -> str:
        return "LexiconChecker()"


# ----------------------------------------------------------------------------------------- model

_TOXIC_LABELS = frozenset(
    {
        "toxic", "toxicity", "severe_toxic", "severe_toxicity", "offensive", "abusive", "abuse", "hate",
        "hateful", "hate_speech", "insult", "threat", "obscene", "identity_hate", "identity_attack",
    }
)  # fmt: skip


class ToxicLabelError(ValueError):
    """The model's labels include none that means "toxic"."""


def toxic_label_ids(id2label: Mapping[Any, str]) -> tuple[int, ...]:
    """The ids of the labels that mean toxic: names like toxic, offensive, hate, insult, threat
    (case-insensitive, spaces and hyphens read as underscores); for a two-label model labelled
    LABEL_0 / LABEL_1, LABEL_1. Raises `ToxicLabelError` when there is none."""
    labels = {int(key): str(value) for key, value in id2label.items()}
    found = tuple(
        sorted(i for i, label in labels.items() if re.sub(r"[\s\-]+", "_", label.strip().casefold()) in _TOXIC_LABELS)
    )
    if found:
        return found
    if len(labels) == 2 and {label.strip().upper() for label in labels.values()} == {"LABEL_0", "LABEL_1"}:
        return tuple(i for i, label in labels.items() if label.strip().upper() == "LABEL_1")
    shown = ", ".join(labels[i] for i in sorted(labels))
    raise ToxicLabelError(f"no toxic label in {shown[:200] or 'an empty label list'}")


class ModelChecker:
    """A local sequence-classification model plus the lexicon.

    Per text: the model's score is the highest probability of a toxic label (sigmoid for
    multi-label or single-output models, softmax otherwise); the result's score is the higher of
    the model's and the lexicon's, so its verdict is the more severe of the two, and its
    categories are the lexicon's plus "model" when the model's own score is DOUBT or worse.
    Create it with `load_toxicity`. ``check`` is thread-safe (one batch at a time)."""

    def __init__(
        self,
        name: str,
        tokenizer: Any,
        model: Any,
        toxic_ids: Sequence[int],
        max_length: int,
        *,
        multi_label: bool,
        batch_size: int = BATCH_SIZE,
        lexicon: LexiconChecker | None = None,
    ) -> None:
        self.name = name
        self.toxic_ids = tuple(toxic_ids)
        self.max_length = max_length
        self.multi_label = multi_label
        self.batch_size = batch_size
        self.method = f"model:{name}+lexicon"
        self._tokenizer = tokenizer
        self._model = model
        self._lexicon = lexicon or LexiconChecker()
        self._lock = threading.Lock()

    def scores(self, texts: Sequence[str]) -> list[float]:
        """The model's own toxicity score per text, in ``[0, 1]`` (a non-finite output counts as
        0.5, DOUBT: a human looks at it)."""
        if isinstance(texts, str):
            raise TypeError("scores() takes a sequence of texts, not a single string")
        if len(texts) == 0:
            return []
        import torch

        out = [0.0] * len(texts)
        with self._lock:
            for rows, batch in nlp.length_batches(self._tokenizer, texts, self.batch_size, self.max_length):
                logits = self._model(**batch).logits.float()
                probs = torch.sigmoid(logits) if self.multi_label else torch.softmax(logits, dim=-1)
                best = probs[:, list(self.toxic_ids)].max(dim=1).values
                for row, value in zip(rows, best.tolist(), strict=True):
                    out[row] = min(1.0, max(0.0, value)) if math.isfinite(value) else DOUBT_THRESHOLD
        return out

    def check(self, texts: Sequence[str]) -> list[ToxicityResult]:
        if isinstance(texts, str):
            raise TypeError("check() takes a sequence of texts, not a single string")
        lexical = self._lexicon.check(texts)
        results = []
        for lexicon_result, model_score in zip(lexical, self.scores(texts), strict=True):
            categories = set(lexicon_result.categories)
            if model_score >= DOUBT_THRESHOLD:
                categories.add("model")
            score = max(model_score, lexicon_result.score)
            results.append(ToxicityResult(verdict_for(score), score, self.method, frozenset(categories)))
        return results

    def __repr__(self) -> str:
        return f"ModelChecker(name={self.name!r}, toxic_ids={self.toxic_ids}, max_length={self.max_length})"


def _fallback(path: Path | None, reason: str) -> tuple[ToxicityChecker, ToxicityStatus]:
    if reason == "no model configured":
        log.debug("toxicity: lexicon only (%s)", reason)
    else:
        log.warning("toxicity: lexicon only (%s)", reason)
    return LexiconChecker(), ToxicityStatus(model=None, path=str(path) if path is not None else None, reason=reason)


def load_toxicity(path: str | Path | None) -> tuple[ToxicityChecker, ToxicityStatus]:
    """Load the toxicity model from the local directory ``path`` into a `ModelChecker`, or return
    the `LexiconChecker` alone (None or empty ``path``: "no model configured"). Offline only, like
    `chatbot.nlp.load_embedder`. Never raises: a missing or broken model, one whose weights do
    not include a classification head, or one without a toxic label gives the lexicon and a
    `ToxicityStatus` saying why."""
    try:
        with nlp.offline_transformers(path) as (model_dir, transformers):
            name = model_dir.resolve().name
            try:
                config = transformers.AutoConfig.from_pretrained(str(model_dir), local_files_only=True)
                toxic_ids = toxic_label_ids(config.id2label)
                tokenizer = transformers.AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
                model, info = transformers.AutoModelForSequenceClassification.from_pretrained(
                    str(model_dir), config=config, local_files_only=True, use_safetensors=True, output_loading_info=True
                )
                _require_complete(info)
                model.eval()
                checker = ModelChecker(
                    name,
                    tokenizer,
                    model,
                    toxic_ids,
                    nlp._max_length(model_dir, tokenizer, model.config),
                    multi_label=config.problem_type == "multi_label_classification" or int(config.num_labels) == 1,
                )
                probe = checker.scores(["probe", "a second, longer probe sentence"])  # fail now, not on first use
                if len(probe) != 2:
                    raise nlp.ModelConfigError("the model produced no score")
            except ToxicLabelError as exc:
                return _fallback(model_dir, f"model failed to load: {exc}")
            except Exception as exc:  # anything at all: the lexicon keeps the service up
                log.warning("toxicity: model at %s failed to load", model_dir, exc_info=True)
                return _fallback(model_dir, f"model failed to load: {exc.__class__.__name__}")
    except nlp.ModelUnavailable as exc:
        return _fallback(exc.path, exc.reason)
    log.info("toxicity: loaded %s from %s (toxic labels %s)", name, model_dir, checker.toxic_ids)
    return checker, ToxicityStatus(model=name, path=str(model_dir), reason="loaded")


class IncompleteModelError(ValueError):
    """The checkpoint lacks weights the model needs (e.g. a base encoder without a classifier
    head, which transformers would silently fill with random weights)."""


def _require_complete(info: Mapping[str, Any]) -> None:
    missing = sorted(info.get("missing_keys") or ())
    mismatched = list(info.get("mismatched_keys") or ())
    errors = list(info.get("error_msgs") or ())
    if missing or mismatched or errors:
        raise IncompleteModelError(
            f"missing {len(missing)}, mismatched {len(mismatched)} weights, {len(errors)} errors"
        )
