"""PII scrubbing for free text typed by residents (Dutch and English), applied before storage.

Invariant: `scrub(text)` returns the NFKC-normalised text (with invisible zero-width
characters and soft hyphens removed) in which every detected item of personal data has been
replaced by a placeholder `[<kind>]`, e.g. `[phone]`; nothing else is altered. `found` lists
exactly the kinds that were replaced. The result is a fixpoint: scrubbing it again changes
nothing and finds nothing. `scrub` is pure, standard-library only, does not raise for any
`str`, and runs in time roughly linear in the input length: patterns use possessive quantifiers
and fixed-width look-arounds and have no nested ambiguous repetition, so no failed attempt
re-scans the input (100,000 adversarial characters take well under a second).

Detected (see the patterns below for the exact rules):
- e-mail addresses, also obfuscated: `jan (at) x.nl`, `jan [at] x [dot] nl`, `jan at x dot nl`;
- URLs: with scheme, `www.`, or a bare domain under a common TLD (.nl, .com, .org, .eu, ...);
- social handles `@name` (including fediverse `@name@server.tld`);
- IBANs (any country, grouped or not, any case) passing mod-97 and, for common countries, of
  the registry length; plus any NL-shaped IBAN even with a wrong checksum, because a mistyped
  account number is still an account number;
- phone numbers: Dutch national, +31/0031, (0)-forms, 0800/0900 service numbers, 06 with one
  digit missing, and international `+`/`00` numbers with 8-15 digits;
- BSNs: 9 digits (or 8 with the leading zero dropped), bare or grouped 3-3-3 / 4-2-3, that
  pass the elfproef;
- Dutch postcodes `1234 AB` / `1234ab` (not the unissued letter pairs SA, SD, SS);
- Dutch licence plates in all sidecodes 1-14 with dashes, and without dashes when the six
  characters have a sidecode shape (lower-case only if the letters are all consonants, as on
  every plate issued since 1978, so words like `week12` survive);
- street addresses: a street name with a Dutch street suffix (or English Street/Road/...)
  followed by a house number with optional addition; a street name without number is kept;
- person names after introductions (`mijn naam is`, `ik heet`, `ik ben`, `my name is`, `I'm`,
  `genaamd`, `heet`, `called`, `named`, ...) and forms of address (`meneer`, `mevrouw`,
  `dhr.`, `mw.`, `Mr`, `Mrs`, `Ms`, `Miss`, `Dr`, ...): 1-3 capitalised words with
  tussenvoegsels. The trigger words themselves are kept.

Known limits (what this cannot detect; the text is still personal data if it contains these):
- names without a trigger phrase ("Jan Jansen zei ..."), names written in lower case, words
  beyond the third capitalised one, and nicknames or descriptions that identify someone
  ("de buurman van nummer 12");
- a name after `ik ben` / `I am` / `I'm` when it is a listed non-name (`ik ben Nederlander`,
  `I'm Dutch`) or starts with a lower-case tussenvoegsel (`ik ben de ...`);
- addresses whose street has no recognised suffix (`Dam 1`, `Rokin 12`, `Weena 5`), house
  numbers without a street (`nummer 12`), and house numbers written in words;
- licence plates written with spaces (`12 AB 34`), foreign plates, and vowel-containing
  lower-case plates written without dashes;
- phone numbers spelled out in words or split by other characters; short numbers (112, 14 020)
  and public service numbers (0900-8844, 0800-7000, 0800-2000) are deliberately kept;
- postcodes and licence plates glued to surrounding letters or digits (`in1234AB`); phone
  numbers, BSNs and IBANs are caught even then (`tel0612345678`), e-mail addresses, URLs and
  street names absorb the glued letters;
- bare domains under other TLDs (e.g. `.de`, `.fr`) unless written with `www.` or a scheme;
  in `jan at example.com` only the domain is replaced (`look at example.com` is too common);
- BSNs failing the elfproef (typos), other national ID, passport or document numbers, dates of
  birth, licence numbers, and free-form identifiers (usernames without `@`);
- deliberately evasive writing (digits as words, spacing inside words, homoglyphs that NFKC
  does not fold).

It errs on the side of privacy: any 10-digit number starting with 0 is taken for a phone
number, `7777KK` for a postcode, a capitalised word after `heet`/`called` for a name, and a
common noun with a street suffix followed by a number (`fietspad 12`) for an address.

Placeholders are inert: no pattern matches inside `[...]`. A replacement can free a neighbour
that had to be left alone while it touched the replaced item, so all rules are re-applied until
nothing changes; that is what makes the output a fixpoint.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass


class PiiKind(enum.StrEnum):
    """Kinds of personal data; the value is the placeholder name."""

    EMAIL = "email"
    PHONE = "phone"
    POSTCODE = "postcode"
    ADDRESS = "address"
    LICENCE_PLATE = "licence_plate"
    IBAN = "iban"
    BSN = "bsn"
    URL = "url"
    HANDLE = "handle"
    NAME = "name"


@dataclass(frozen=True, slots=True)
class ScrubResult:
    """Scrubbed text and the kinds of personal data that were replaced in it."""

    text: str
    found: frozenset[PiiKind] = frozenset()

    @property
    def changed(self) -> bool:
        """Whether any personal data was replaced (normalisation alone does not count)."""
        return bool(self.found)


def _placeholder(kind: PiiKind) -> str:
    return f"[{kind.value}]"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Evasion via invisible characters ("06\u200b12345678") must not defeat the patterns. They are
# removed before NFKC so that the output is already NFKC-stable (idempotence).
_INVISIBLE = re.compile("[\u00ad\u180e\u200b\u2060\ufeff]")

# A replacement can free a neighbour that an earlier rule had to leave alone: in
# "12-AB-34.1112.22.333" the BSN touches the plate's digits until the plate (a later rule) is
# replaced. So all rules are re-run until nothing changes, which makes the output a fixpoint.
# Fuzzing finds no input needing a third round; the cap bounds the cost on adversarial input.
_MAX_ROUNDS = 4

# --- building blocks ---------------------------------------------------------------------------

# Python's `re` has no \p{Lu}; derive the upper-case letters (Latin, Greek, Cyrillic) once.
_UPPER_CHARS = "".join(chr(c) for c in range(0x41, 0x530) if chr(c).isupper())
_UP = f"[{_UPPER_CHARS}]"
_LETTER = r"[^\W\d_]"
# Possessive quantifiers: a word is consumed once and never re-split on backtracking.
_CAPWORD = rf"{_UP}{_LETTER}*+(?:['\u2019\-]{_LETTER}++)*+"
_URL_CHAR = r"[^\s<>\"'`{}|\\^\[\]]"
_URL_TRAILING = ".,;:!?)"

# --- e-mail, URL, handle -----------------------------------------------------------------------

# A TLD may be followed by digits: "jan@x.nl0612345678" is an address and a phone number.
_TLD_END = r"(?![^\W\d]|[_\-\[])"
_URL_SCHEMED = re.compile(rf"(?i:(?:https?|ftp)://|(?<![\w.\-\]])www\d{{0,3}}\.){_URL_CHAR}+")
_URL_TLDS = "nl|com|org|net|eu|be|info|io|biz|uk|frl|amsterdam|app|dev|gov|edu|online|shop|site|xyz|tv|social|ly|gl"
# Lower-case TLD only: "weg.Nl" is far more likely a missing space than a domain.
_URL_BARE = re.compile(rf"(?<![\w.@/\-\]])(?:[^\W_][\w\-]*+\.)+(?:{_URL_TLDS}){_TLD_END}(?:[/?#]{_URL_CHAR}*)?")

_EMAIL_LOCAL = r"(?<![\w.%+\-\]])[\w.%+\-]++"
_EMAIL_DOMAIN = rf"(?:[\w\-]++\.)+[^\W\d_]{{2,}}{_TLD_END}"
_EMAIL = re.compile(rf"{_EMAIL_LOCAL}@{_EMAIL_DOMAIN}")
_FEDIVERSE = re.compile(rf"(?<![\w.@\]])@[\w.\-]++@{_EMAIL_DOMAIN}")

_MAIL_TLDS = (
    r"(?i:nl|com|org|net|eu|be|de|info|io|biz|uk|fr|me|app|dev|frl|amsterdam|edu|gov)"
    r"(?![\w\-\[])"
)
_AT_BRACKETED = r"(?: *[(\[{<] *(?i:at|a|apenstaartje) *[)\]}>] *| +@ *| *@ +)"
_AT_WORD = r" +(?i:at|apenstaartje) +"
_DOT_BRACKETED = r" *[(\[{<] *(?i:dot|punt) *[)\]}>] *"
_DOT_WORD = r" +(?i:dot|punt) +"
# "jan at home. Then" must not become an e-mail, so the plain-word " at " form needs a written-
# out dot; the bracketed forms are unambiguous and accept a real dot too.
_EMAIL_OBFUSCATED = re.compile(
    rf"{_EMAIL_LOCAL}(?:{_AT_BRACKETED}(?:[\w\-]++(?:{_DOT_BRACKETED}|{_DOT_WORD}| ?\. ?))+"
    rf"|{_AT_WORD}(?:[\w\-]++(?:{_DOT_BRACKETED}|{_DOT_WORD}))+){_MAIL_TLDS}"
)

# At least one letter, so "@20" (as in "@20 euro") is not a handle.
_HANDLE = re.compile(r"(?<![\w@\]])@(?=[\d_.]*+[^\W\d_])\w[\w.]*\w")

# --- numbers -----------------------------------------------------------------------------------

# Letters may touch an IBAN ("ibanNL91...00graag"): the check digits keep random tokens out,
# and the validator cuts off whatever the pattern took beyond the valid prefix.
_IBAN = re.compile(
    r"(?<![0-9\]])[A-Za-z]{2}[0-9]{2}(?: ?[0-9A-Za-z]{4}){2,7}(?: ?[0-9A-Za-z]{1,3})?"
    r"(?![0-9\[])"
)
_IBAN_NL_SHAPE = re.compile(r"NL[0-9]{2}[A-Z]{4}[0-9]{10}")
# Registry lengths of the IBANs residents are most likely to write. Where the country is known
# only that exact length is accepted, so the validator cannot stretch a match over following
# text that happens to pass mod-97 (each extra length tried is another 1-in-97 chance).
_IBAN_LENGTHS = _words("NL18 BE16 DE22 FR27 GB22 ES24 IT27 LU20 AT20 CH21 PL28 PT25 IE22 DK18 SE24 NO15 FI18 TR26")
_IBAN_COUNTRIES = frozenset(entry[:2] for entry in _IBAN_LENGTHS)

# One optional separator between digits; " - " is one separator, not three optional ones, so
# there is exactly one way to read any digit string (no exponential backtracking).
_SEP = r"(?: ?[\-./] ?| )?"
# A match never ends inside a digit group; more digits after a separator are allowed
# ("bel 0612345678 3 keer", "0612345678-0201234567" is two numbers).
_PHONE_END = r"(?![\d_])"
# Letters may touch a number ("tel0612345678", "0612345678bellen"): nine or ten digits glued
# to a word are never an ordinary word. Digits may not, so no match starts or ends inside a
# longer number; a "+" may directly follow a digit ("...5678+3120..." is two numbers).
_PHONE = re.compile(
    r"(?:(?<![\d_+])|(?<=\d)(?=\+))(?:"
    rf"(?:\+|00) ?31{_SEP}(?:\(0\) ?|0{_SEP})?[1-9](?:{_SEP}\d){{8}}{_PHONE_END}"
    rf"|0[89]0[069](?:{_SEP}\d){{7}}{_PHONE_END}"
    rf"|0[89]0[069](?:{_SEP}\d){{4}}{_PHONE_END}"
    rf"|0[1-9](?:{_SEP}\d){{8}}{_PHONE_END}"
    rf"|06(?:{_SEP}\d){{7}}{_PHONE_END}"
    rf"|\(0[1-9]\) ?\d(?:{_SEP}\d){{7}}{_PHONE_END}"
    rf"|\(0[1-9]\d\) ?\d(?:{_SEP}\d){{6}}{_PHONE_END}"
    rf"|\(0[1-9]\d{{2}}\) ?\d(?:{_SEP}\d){{5}}{_PHONE_END}"
    rf"|(?:\+|00) ?[1-9](?:{_SEP}(?:\(0\) ?)?\d){{7,14}}{_PHONE_END}"
    r")"
)
# Public service numbers a report may legitimately mention (police non-emergency, Meld Misdaad
# Anoniem, Veilig Thuis); they identify no one.
_PUBLIC_NUMBERS = frozenset({"09008844", "08007000", "08002000"})
# "06-12-2026 14:30" has ten digits but is a date and a time.
_DATE_PREFIX = re.compile(r"\d{1,2} ?([\-./]) ?\d{1,2} ?\1 ?(?:19|20)\d\d(?!\d)")

_BSN = re.compile(
    r"(?<![\d_+])(?<!\d[.,\-])"
    r"(?:\d{9}|\d{8}|\d{3}([ .\-])\d{3}\1\d{3}|\d{4}([ .])\d{2}\2\d{3})"
    r"(?![\d_])(?![.,\-]\d)"
)
_BSN_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)

_POSTCODE = re.compile(r"(?<![\w\]])[1-9]\d{3}( ?)([A-Za-z]{2})(?![\w\[])")
_POSTCODE_UNISSUED = frozenset({"SA", "SD", "SS"})
# Lower- or mixed-case letters after four digits are usually a word or unit ("in 2026 en",
# "1000km"); upper-case pairs are taken as postcodes.
_POSTCODE_NOT_LETTERS = _words(
    "en in is op of om te al na nu zo ja ik je we ze er ga de da ma di wo do vr za an at as be by "
    "go he hi if it me my no oh ok on or so to up us am pm km cm mm dm kg mg ml cl dl gb mb kb tb "
    "kw pk hz st nd rd th ca vs eu"
)

# --- licence plates ----------------------------------------------------------------------------

_PLATE_DASHED = re.compile(r"(?<![\w\-\]])[0-9A-Za-z]{1,3}-[0-9A-Za-z]{1,3}-[0-9A-Za-z]{1,3}(?![\w\[])(?!-[\w\[])")
_PLATE_COMPACT = re.compile(r"(?<![\w\-\]])[0-9A-Za-z]{6}(?![\w\-\[])")
# Sidecodes 1-14 (L = letter, D = digit).
_SIDECODES = _words(
    "LL-DD-DD DD-DD-LL DD-LL-DD LL-DD-LL LL-LL-DD DD-LL-LL DD-LLL-D D-LLL-DD LL-DDD-L L-DDD-LL "
    "LLL-DD-L L-DD-LLL D-LL-DDD DDD-LL-D"
)
_SIDECODES_COMPACT = frozenset(code.replace("-", "") for code in _SIDECODES)
_MONTHS = _words("jan feb maa mrt apr mei jun jul aug sep okt nov dec mar may oct")
_VOWELS = frozenset("aeiouy")

# --- addresses ---------------------------------------------------------------------------------

_STREET_SUFFIXES = tuple(
    sorted(
        _words(
            "straat straatje laan laantje weg plein pleintje gracht kade singel dijk steeg "
            "steegje dreef hof hofje pad park plantsoen markt kanaal wal baan haven boulevard "
            "allee allée kaai vest veste schans rak promenade passage"
        )
    )
)


def _ends_in_one_of(suffixes: tuple[str, ...], min_stem: int) -> str:
    """Pattern asserting that the text just consumed ends in one of `suffixes` (any case).

    The street word is consumed whole (possessively) and its ending checked with fixed-width
    look-behinds grouped by last letter: a handful of tests per word instead of a backtracking
    search for where a suffix might start.
    """
    stem = f"{_LETTER}{{{min_stem}}}" if min_stem else ""
    by_last: dict[str, list[str]] = {}
    for suffix in suffixes:
        by_last.setdefault(suffix[-1], []).append(suffix)
    groups = (
        f"(?<={last})(?:" + "|".join(f"(?<={stem}{suffix})" for suffix in group) + ")"
        for last, group in sorted(by_last.items())
    )
    return "(?i:" + "|".join(groups) + ")"


_ENDS_IN_SUFFIX = _ends_in_one_of(_STREET_SUFFIXES, 0)
_ENDS_IN_LONG_SUFFIX = _ends_in_one_of(_STREET_SUFFIXES, 2)
_STREET_TYPE_FIRST = (
    r"(?:Laan|Plein|Kade|Weg|Singel|Dreef|Hof|Park|Markt|Wal|Dijk|Gracht|Straat|Steeg|Baan|"
    r"Plantsoen|Haven|Boulevard|Burgwal|Pad|Kanaal)"
)
_STREET_PARTICLE = r"(?:van|de|der|den|het|'t|te|ter|ten|op|in|aan|bij|achter|voor|over|la|le|du|St\.|Sint)"
_STREET_UNIT = rf"(?:{_CAPWORD}\.?|[1-9]\d?(?:e|ste|de)) (?:{_STREET_PARTICLE} ){{0,2}}"
_STREET_WORD = rf"(?:{_LETTER}++['\u2019\-])*+{_LETTER}++"
# After capitalised words the street word may be the bare suffix ("Grote Markt"); on its own it
# needs two letters before the suffix, so "op straat 3 mannen" and "iPad 2" are not addresses.
_NL_STREET = (
    rf"(?:(?:{_STREET_UNIT}){{1,3}}(?={_UP}){_STREET_WORD}{_ENDS_IN_SUFFIX}"
    rf"|{_STREET_WORD}{_ENDS_IN_LONG_SUFFIX}"
    rf"|{_STREET_TYPE_FIRST}(?: {_STREET_PARTICLE}){{1,3}}(?: {_CAPWORD}){{1,2}})"
)
_EN_STREET_TYPE = (
    r"(?:Street|St\.?|Road|Rd\.?|Avenue|Ave\.?|Lane|Ln\.?|Drive|Way|Place|Square|Crescent|"
    r"Close|Terrace|Boulevard|Blvd\.?|Gardens|Court)(?![\w\[])"
)
_EN_STREET = rf"(?:{_CAPWORD} ){{1,3}}{_EN_STREET_TYPE}"
# A number followed by one of these counts something ("Museumplein 3 jongens"), it is no
# house number.
_COUNT_WORDS = (
    r"(?i:mannen|man|jongens|jongen|vrouwen|vrouw|meiden|meisjes|meisje|personen|persoon|"
    r"mensen|kinderen|jongeren|keer|maal|uur|minuten|min|seconden|dagen|weken|maanden|jaar|"
    r"jaren|euro|auto's|auto|fietsers|scooters|agenten|men|guys|boys|girls|women|people|"
    r"persons|times|minutes|hours|days|weeks|years|kids|cars|o'clock)(?!\w)"
)
_HOUSE_ADDITION = (
    r"(?:[a-dA-Df-zF-Z]|[ \-]?(?i:bis|hs|huis|bg|zw)|[ \-](?:III|II|IV)|-I|-\d{1,4}"
    r"|-[A-Za-z]{1,2}| [A-HJ-Z])(?![\w\[])"
)
_HOUSE_NUMBER = (
    rf"(?:(?i:nr|no|nummer|number)\.? *)?[1-9]\d{{0,3}}(?!\d)(?! +{_COUNT_WORDS})"
    rf"(?:{_HOUSE_ADDITION})?(?![\w\[])(?![.:,][\d\[])"
)
_ADDRESS = re.compile(
    rf"(?<![\w'\u2019\-.\]])(?:"
    rf"(?:{_NL_STREET}|{_EN_STREET}) +{_HOUSE_NUMBER}"
    rf"|[1-9]\d{{0,3}}[A-Za-z]? +(?:{_CAPWORD} ){{1,3}}{_EN_STREET_TYPE}"
    r")"
)
# Common nouns that end in a street suffix and are never street names.
_NOT_STREETS = frozenset({"onderweg", "halfweg", "supermarkt", "snelweg"})
# Capitalised words that start sentences rather than street names. They are kept out of the
# placeholder ("Op de [address]") by the validator rather than by a look-ahead in the pattern,
# which would cost a test of every listed word at every capitalised word of the input.
_NOT_STREET_START = _words(
    "Ik Op In Bij Naar Aan Het Een En Maar Toen Daar Hier Gisteren Vandaag Vanavond Vannacht "
    "Vanmorgen Vanochtend Om Rond Langs Via Vanaf Tot Naast Tegenover Onder Wij We Hij Zij Ze Jij "
    "Je U Mijn Zijn Haar Onze Hun At On Near The I He She They My Our Yesterday Today Tonight"
)
_STREET_PARTICLES = frozenset(
    {"van", "de", "der", "den", "het", "'t", "te", "ter", "ten", "op", "in", "aan", "bij"}
    | {"achter", "voor", "over", "la", "le", "du", "st.", "sint"}
)

# --- names -------------------------------------------------------------------------------------

_NAME_PARTICLE = (
    r"(?i:van|von|vom|zu|de|der|den|het|'t|te|ter|ten|la|le|du|da|di|del|dos|das|el|al|bin|"
    r"ibn|op)"
)
_NAME_WORD = rf"(?:(?:{_UP}\.){{1,4}}|{_CAPWORD})"
_NAME_BODY = (
    rf"(?:{_NAME_PARTICLE} +){{0,3}}{_NAME_WORD}"
    rf"(?: +(?:{_NAME_PARTICLE} +){{0,3}}{_NAME_WORD}){{0,2}}"
)
_NAME = re.compile(
    r"(?P<trigger>(?<![\w\]])(?:"
    r"(?P<weak>(?i:ik +ben|i +am|i['\u2019]m))"
    r"|(?i:mijn +naam +is|mijn +voornaam +is|ik +heet|my +name +is|genaamd|heet|heette|"
    r"noemt +zich(?:zelf)?|noemde +zich(?:zelf)?|called|named|naam *:|name *:|meneer|mevrouw|"
    r"mevr\.?|mw\.?|dhr\.?|de +heer|juffrouw|juf)"
    r"|(?:Mr|Mrs|Ms|Mx|Miss|Dr|Prof|mr|dr|prof)\.?"
    rf") +)(?P<name>{_NAME_BODY})"
)
# After "ik ben"/"I am" a capital often starts a nationality, faith or emphasis, not a name.
_NOT_NAMES = _words(
    "nederlander nederlands nederlandse hollander marokkaan marokkaans marokkaanse turk turks "
    "turkse surinamer surinaams surinaamse belg belgisch belgische duitser duits duitse moslim "
    "christen christelijk joods joodse katholiek hindoe lesbisch homo trans bi dutch english "
    "british american german french turkish moroccan surinamese belgian muslim christian jewish "
    "catholic hindu gay lesbian not so very really just also too sorry fine ok okay here there "
    "home ook niet heel echt erg bang boos blij zo alleen gisteren vandaag hier daar thuis op in "
    "at on"
)


# --- validators --------------------------------------------------------------------------------


def _trim_url(url: str) -> tuple[str, str]:
    """Split trailing sentence punctuation off a URL (kept in the text, it is not the URL)."""
    end = len(url)
    while end > 0 and url[end - 1] in _URL_TRAILING:
        if url[end - 1] == ")" and url.count("(", 0, end) >= url.count(")", 0, end):
            break
        end -= 1
    return url[:end], url[end:]


def _iban_valid(compact: str) -> bool:
    if not 15 <= len(compact) <= 34 or not compact[:2].isalpha() or not compact[2:4].isdigit():
        return False
    country = compact[:2]
    if country in _IBAN_COUNTRIES and f"{country}{len(compact)}" not in _IBAN_LENGTHS:
        return False
    if _IBAN_NL_SHAPE.fullmatch(compact):
        return True
    if not 2 <= int(compact[2:4]) <= 98:
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


def _elfproef(digits: str) -> bool:
    if len(digits) == 8:
        digits = "0" + digits
    values = [int(ch) for ch in digits]
    if len(values) != 9 or not any(values):
        return False
    return sum(w * v for w, v in zip(_BSN_WEIGHTS, values, strict=True)) % 11 == 0


def _plate_shape(text: str) -> str:
    return "".join("L" if ch.isalpha() else "D" if ch.isdigit() else ch for ch in text)


def _replacement(kind: PiiKind, match: re.Match[str]) -> str | None:
    """Replacement for one candidate match, or None if the candidate is not personal data."""
    raw = match.group(0)
    placeholder = _placeholder(kind)
    if kind is PiiKind.URL:
        url, tail = _trim_url(raw)
        if not url or url.lower().rstrip(".").endswith(("://", "www")):
            return None
        return placeholder + tail
    if kind is PiiKind.IBAN:
        # The pattern may have swallowed a following word ("... 7034 voor", "...00graag"):
        # take the longest prefix that validates, cut only where a word could start.
        for end in range(len(raw), 14, -1):
            at_boundary = end == len(raw) or raw[end] == " " or (raw[end - 1].isdigit() and raw[end].isalpha())
            if at_boundary and _iban_valid(raw[:end].replace(" ", "").upper()):
                return placeholder + raw[end:]
        return None
    if kind is PiiKind.PHONE:
        digits = "".join(ch for ch in raw if ch.isdigit())
        if digits in _PUBLIC_NUMBERS or _DATE_PREFIX.match(raw):
            return None
        return placeholder
    if kind is PiiKind.BSN:
        return placeholder if _elfproef("".join(ch for ch in raw if ch.isdigit())) else None
    if kind is PiiKind.POSTCODE:
        letters = match.group(2)
        if letters.upper() in _POSTCODE_UNISSUED:
            return None
        if not letters.isupper() and letters.lower() in _POSTCODE_NOT_LETTERS:
            return None
        return placeholder
    if kind is PiiKind.LICENCE_PLATE:
        return placeholder if _is_plate(raw) else None
    if kind is PiiKind.ADDRESS:
        return _address(raw)
    if kind is PiiKind.NAME:
        if match.group("weak"):
            # A lower-case first word can only be a tussenvoegsel: "ik ben de eerste", whereas
            # "Ik ben Van Dijk" is a name.
            first = match.group("name").split()[0]
            if first.islower() or first.lower() in _NOT_NAMES:
                return None
        return match.group("trigger") + placeholder
    return placeholder


def _address(raw: str) -> str | None:
    words = raw.split(" ")
    if any(word.lower() in _NOT_STREETS for word in words):
        return None
    # Keep leading sentence words ("Op de") outside the placeholder; the street word and the
    # number always remain, so at least two words are left.
    lead = 0
    while lead < len(words) - 2 and (
        words[lead] in _NOT_STREET_START or (lead > 0 and words[lead].lower() in _STREET_PARTICLES)
    ):
        lead += 1
    kept = " ".join(words[:lead])
    return f"{kept} {_placeholder(PiiKind.ADDRESS)}" if kept else _placeholder(PiiKind.ADDRESS)


def _is_plate(raw: str) -> bool:
    shape = _plate_shape(raw)
    if "-" in raw:
        groups = raw.lower().split("-")
        return shape in _SIDECODES and not any(group in _MONTHS for group in groups)
    if shape not in _SIDECODES_COMPACT:
        return False
    letters = "".join(ch for ch in raw if ch.isalpha())
    if letters.isupper():
        return True
    # Lower case "week12"/"12jaar"/"1000km" are words and units; plates issued since 1978
    # carry no vowels.
    if letters.lower() in _POSTCODE_NOT_LETTERS:
        return False
    return not any(ch in _VOWELS for ch in letters.lower())


# Order matters: scheme URLs before e-mail (a URL may contain "@"); e-mail before bare domains
# and handles (the domain and "@" are part of the address); IBAN, which is checksum-validated,
# before bare domains ("site.be57 1279 ...": the domain must not take the country code) and
# before phone and BSN (its digits would otherwise be read as numbers); numbers before
# postcodes, plates and addresses; names last, so a trigger followed by an already replaced
# item is left alone.
_RULES: tuple[tuple[re.Pattern[str], PiiKind], ...] = (
    (_URL_SCHEMED, PiiKind.URL),
    (_FEDIVERSE, PiiKind.HANDLE),
    (_EMAIL, PiiKind.EMAIL),
    (_EMAIL_OBFUSCATED, PiiKind.EMAIL),
    (_IBAN, PiiKind.IBAN),
    (_URL_BARE, PiiKind.URL),
    (_HANDLE, PiiKind.HANDLE),
    (_PHONE, PiiKind.PHONE),
    (_BSN, PiiKind.BSN),
    (_POSTCODE, PiiKind.POSTCODE),
    (_PLATE_DASHED, PiiKind.LICENCE_PLATE),
    (_PLATE_COMPACT, PiiKind.LICENCE_PLATE),
    (_ADDRESS, PiiKind.ADDRESS),
    (_NAME, PiiKind.NAME),
)


# Most rules need a digit or an "@" to replace anything: every alternative of the IBAN, phone,
# BSN, postcode and address patterns has a mandatory digit ([0-9], [1-9] or \d); a licence
# plate candidate is ASCII and its shape must contain a digit; e-mail (not the obfuscated
# form) and handles have a literal "@". A text with neither skips them, which is most of the
# cost of scrubbing a typical description. Replacements never add a digit or "@" (placeholders
# are "[kind]", the rest of a text is kept), so what the first round found absent stays absent.
# tests/privacy/test_pii_rules.py checks the outputs against running every rule.
_NEEDS_DIGIT = frozenset(
    {PiiKind.IBAN, PiiKind.PHONE, PiiKind.BSN, PiiKind.POSTCODE, PiiKind.LICENCE_PLATE, PiiKind.ADDRESS}
)
_NEEDS_AT = frozenset({_FEDIVERSE, _EMAIL, _HANDLE})
_DIGIT = re.compile(r"\d")
_RULE_SETS: dict[tuple[bool, bool], tuple[tuple[re.Pattern[str], PiiKind], ...]] = {
    (digit, at): tuple(
        (pattern, kind)
        for pattern, kind in _RULES
        if (digit or kind not in _NEEDS_DIGIT) and (at or pattern not in _NEEDS_AT)
    )
    for digit in (False, True)
    for at in (False, True)
}


def _rules_for(text: str) -> tuple[tuple[re.Pattern[str], PiiKind], ...]:
    """The rules that can replace something in `text` (see `_NEEDS_DIGIT`)."""
    return _RULE_SETS[_DIGIT.search(text) is not None, "@" in text]


def _apply(pattern: re.Pattern[str], kind: PiiKind, text: str, found: set[PiiKind]) -> str:
    def replace(match: re.Match[str]) -> str:
        replacement = _replacement(kind, match)
        if replacement is None:
            return match.group(0)
        found.add(kind)
        return replacement

    return pattern.sub(replace, text)


def _apply_overlapping(pattern: re.Pattern[str], kind: PiiKind, text: str, found: set[PiiKind]) -> str:
    """Like `_apply`, but a candidate that fails validation does not hide a valid one that
    overlaps it: "123 000 000 012" fails the elfproef as "123 000 000" and must still yield
    the BSN "000 000 012". Searching resumes one character after a failed candidate's start."""
    parts: list[str] = []
    done = 0
    position = 0
    while (match := pattern.search(text, position)) is not None:
        replacement = _replacement(kind, match)
        if replacement is None:
            position = match.start() + 1
            continue
        found.add(kind)
        parts.append(text[done : match.start()])
        parts.append(replacement)
        done = position = match.end()
    parts.append(text[done:])
    return "".join(parts)


def scrub(text: str) -> ScrubResult:
    """Replace the personal data in `text` by `[<kind>]` placeholders.

    Invariant: the returned text is `text` after NFKC normalisation (and removal of invisible
    zero-width characters) with every detected item replaced by its placeholder and nothing
    else changed; `found` is exactly the set of kinds replaced. The output is a fixpoint
    (`scrub(scrub(x).text)` returns the same text with empty `found`), no input `str` makes it
    raise, and its running time is roughly linear in `len(text)`. Detection is best-effort:
    see the module docstring for what it cannot recognise.
    """
    text = unicodedata.normalize("NFKC", _INVISIBLE.sub("", text))
    found: set[PiiKind] = set()
    rules = _rules_for(text)
    for _ in range(_MAX_ROUNDS):
        before = text
        for pattern, kind in rules:
            apply = _apply_overlapping if kind is PiiKind.BSN else _apply
            text = apply(pattern, kind, text, found)
        if text == before:
            break
    return ScrubResult(text, frozenset(found))
