"""Everything the deliberation chatbot says, in Dutch and English, in one place: the app's own
chat endpoint and the Rasa action server both speak through `say`, so they say the same thing.

Dutch uses the informal "je", as Dutch municipal chat services do. Placeholders are
`str.format` fields; a participant's own words only ever appear inside quotation marks."""

from __future__ import annotations

from typing import Final

LANGUAGES: Final = ("nl", "en")

PHRASES: Final[dict[str, dict[str, str]]] = {
    # --- welcome and privacy ---
    "welcome": {
        "nl": "Welkom! Dit gesprek gaat over: “{question}”. Ik help je om je mening in woorden te vatten, "
        "en daarna laat ik je zien wat anderen vinden.",
        "en": "Welcome! This conversation is about: “{question}”. I'll help you put your view into words, "
        "and then show you what others think.",
    },
    "privacy": {
        "nl": "Over je privacy: ik bewaar alleen wat je hier schrijft en je stemmen, onder een willekeurig "
        "nummer. Niet je naam, telefoon of locatie, en niets wordt gekoppeld aan meldingen die je misschien "
        "hebt gedaan. Je stellingen worden zonder naam gepubliceerd; wat je vertelt over je eigen ervaring "
        "blijft privé. Zeg op elk moment “verwijder mijn gegevens” om alles te wissen.",
        "en": "About your privacy: I only keep what you write here and your votes, under a random number. "
        "Not your name, phone or location, and nothing is linked to any report you may have made. Your "
        "statements are published without a name; what you tell me about your own experience stays "
        "private. Say “delete my data” at any time to erase everything.",
    },
    "start_question": {
        "nl": "Zullen we beginnen?",
        "en": "Shall we start?",
    },
    "welcome_back": {
        "nl": "Welkom terug! Wil je verder stemmen of een nieuwe stelling schrijven?",
        "en": "Welcome back! Would you like to vote on more statements or write a new one?",
    },
    # --- elicitation ---
    "ask_experience": {
        "nl": "Wil je eerst vertellen wat je hebt meegemaakt of gezien? Dat blijft privé: het wordt niet "
        "gepubliceerd, er wordt niet over gestemd en het wordt nergens aan gekoppeld. Je mag dit ook overslaan.",
        "en": "Would you like to tell me first what you experienced or saw? That stays private: it is not "
        "published, nobody votes on it and it is not linked to anything. You can also skip this.",
    },
    "experience_thanks": {
        "nl": "Dank je wel dat je dit deelt. Het blijft tussen ons.",
        "en": "Thank you for sharing this. It stays between us.",
    },
    "ask_position": {
        "nl": "Wat zou er moeten veranderen? Schrijf het in één zin, bijvoorbeeld “Er moet meer licht komen bij "
        "het station”.",
        "en": "What should change? Put it in one sentence, for example “There should be more light near the station”.",
    },
    "ask_reason": {
        "nl": "Waarom vind je dat? Je mag dit ook overslaan.",
        "en": "Why do you think so? You can also skip this.",
    },
    "ask_edit": {
        "nl": "Hoe moet je stelling luiden? Typ de hele zin (hoogstens {limit} tekens).",
        "en": "How should your statement read? Type the whole sentence (at most {limit} characters).",
    },
    "too_short": {
        "nl": "Kun je iets meer zeggen?",
        "en": "Could you say a little more?",
    },
    "too_long": {
        "nl": "Dat is te lang. Kun je het korter zeggen (hoogstens {limit} tekens)?",
        "en": "That is too long. Could you say it more briefly (at most {limit} characters)?",
    },
    "draft_too_long": {
        "nl": "Samen is dat te lang voor een stelling (hoogstens {limit} tekens). Kun je de reden korter zeggen?",
        "en": "Together that is too long for a statement (at most {limit} characters). Could you give the "
        "reason more briefly?",
    },
    "personal_data": {
        "nl": "Ik heb persoonsgegevens uit je tekst gehaald ({kinds}). Stellingen zijn openbaar, dus namen, "
        "telefoonnummers of adressen horen er niet in.",
        "en": "I removed personal data from your text ({kinds}). Statements are public, so names, phone "
        "numbers or addresses can't be in them.",
    },
    "abusive": {
        "nl": "Zo kan ik dit niet overnemen: het leest als een bedreiging of scheldpartij. Wat zou er moeten "
        "veranderen? Probeer het te zeggen zonder te dreigen of te schelden.",
        "en": "I can't take this on as written: it reads as a threat or abuse. What should change? Try to say "
        "it without threats or insults.",
    },
    "reflect": {
        "nl": "Als ik je goed begrijp, vind je: “{draft}” Klopt dat?",
        "en": "If I understand you correctly, you think: “{draft}” Is that right?",
    },
    "because": {"nl": "want", "en": "because"},
    # --- submission ---
    "posted": {
        "nl": "Dank je! Je stelling staat erin.",
        "en": "Thank you! Your statement has been posted.",
    },
    "posted_review": {
        "nl": "Dank je! Een moderator leest je stelling eerst, daarna kunnen anderen erop stemmen.",
        "en": "Thank you! A moderator will read your statement first; then others can vote on it.",
    },
    "near_duplicate": {
        "nl": "Iemand zei al iets wat hier dicht bij ligt: “{existing}” Ben je het daarmee eens, of wil je "
        "toch de jouwe plaatsen?",
        "en": "Someone said something close to this: “{existing}” Do you agree with it, or do you want to "
        "post yours anyway?",
    },
    "exact_duplicate": {
        "nl": "Deze stelling staat er al: “{existing}” Ben je het ermee eens?",
        "en": "This statement is already in the discussion: “{existing}” Do you agree with it?",
    },
    "agreed_existing": {
        "nl": "Genoteerd: je bent het ermee eens.",
        "en": "Noted: you agree with it.",
    },
    "not_open": {
        "nl": "Dit gesprek is nu niet open voor nieuwe stellingen of stemmen. Je kunt wel je gegevens laten "
        "verwijderen.",
        "en": "This discussion is not open for new statements or votes right now. You can still have your data "
        "deleted.",
    },
    # --- voting ---
    "voting_intro": {
        "nl": "Nu laat ik je stellingen van anderen zien. Ben je het eens, oneens, of sla je over?",
        "en": "Now I'll show you statements by others. Do you agree, disagree, or pass?",
    },
    "content_warning": {
        "nl": "Let op: de volgende stelling gaat over een gevoelig onderwerp.",
        "en": "Content warning: the next statement is about a sensitive subject.",
    },
    "statement": {"nl": "“{body}”", "en": "“{body}”"},
    "choose_vote": {
        "nl": "Kies eens, oneens of overslaan. Of zeg “stop”.",
        "en": "Choose agree, disagree or pass. Or say “stop”.",
    },
    "vote_gone": {
        "nl": "Over die stelling kan niet meer gestemd worden.",
        "en": "That statement is no longer open for votes.",
    },
    "session_cap": {
        "nl": "Je hebt {count} stellingen gezien. Dank je wel! Zo sta je ervoor:",
        "en": "You have seen {count} statements. Thank you! Here is where you stand:",
    },
    "no_more": {
        "nl": "Je hebt alle stellingen gezien die er nu zijn. Kom later terug voor nieuwe.",
        "en": "You have seen every statement there is for now. Come back later for new ones.",
    },
    # --- where do I stand ---
    "stance_group": {
        "nl": "Je stemmen liggen het dichtst bij groep {label} ({size} mensen){shared}.",
        "en": "Your votes are closest to group {label} ({size} people){shared}.",
    },
    "stance_shared_agree": {"nl": "eens dat “{body}”", "en": "agree that “{body}”"},
    "stance_shared_disagree": {"nl": "het oneens dat “{body}”", "en": "disagree that “{body}”"},
    "stance_shared": {"nl": ", die het ook {items} zijn", "en": ", who also {items}"},
    "stance_and": {"nl": " en ", "en": " and "},
    "stance_groups": {
        "nl": "Er zijn {groups} meningsgroepen in dit gesprek.",
        "en": "There are {groups} opinion groups in this discussion.",
    },
    "stance_none_fit": {
        "nl": "Je stemmen neigen nog niet duidelijk naar een van de {groups} groepen. Stem op meer stellingen "
        "om het te zien.",
        "en": "Your votes don't lean clearly towards one of the {groups} groups yet. Vote on more statements "
        "to find out.",
    },
    "stance_no_groups": {
        "nl": "Meningsgroepen ontstaan als genoeg mensen hebben gestemd, dus ik kan je nog niet zeggen waar "
        "je staat. Je hebt op {votes} stellingen gestemd.",
        "en": "Opinion groups form once enough people have voted, so I can't tell you yet where you stand. "
        "You have voted on {votes} statements.",
    },
    "after_stance": {
        "nl": "Wil je verder stemmen, een stelling schrijven, of stoppen?",
        "en": "Would you like to vote on more statements, write a statement, or stop?",
    },
    # --- area figures ---
    "figures_none": {
        "nl": "Dit gesprek gaat niet over een bepaald gebied, dus ik heb geen cijfers.",
        "en": "This discussion is not about a particular area, so I have no figures.",
    },
    "figures_unreleased": {
        "nl": "Er zijn nog geen gepubliceerde cijfers voor dit gebied.",
        "en": "There are no published figures for this area yet.",
    },
    "figures_quiet": {
        "nl": "In de gepubliceerde cijfers over {period} staat geen deel van dit gebied: delen met weinig "
        "meldingen worden nooit gepubliceerd.",
        "en": "In the published figures for {period}, no part of this area is shown: parts with few reports "
        "are never published.",
    },
    "figures": {
        "nl": "In de gepubliceerde cijfers over {period} hebben {parts} delen van dit gebied meldingen; het "
        "drukste deel valt in de klasse {band} meldingen. Dit zijn afgeronde, geanonimiseerde cijfers: geen "
        "enkele melding is erin terug te zien.",
        "en": "In the published figures for {period}, {parts} parts of this area have reports; the busiest is "
        "in the band of {band} reports. These are rounded, anonymised figures: no single report can be seen "
        "in them.",
    },
    # --- commands ---
    "help": {
        "nl": "Ik help je je mening over veilige straten te verwoorden en te stemmen op wat anderen vinden. Je "
        "kunt altijd zeggen: “stop”, “help”, “waar sta ik”, “verwijder mijn gegevens” of “andere taal”.",
        "en": "I help you put your view on safe streets into words and vote on what others think. You can "
        "always say: “stop”, “help”, “where do I stand”, “delete my data” or “change language”.",
    },
    "help_figures": {
        "nl": "Over het gebied van dit gesprek kun je “cijfers” vragen.",
        "en": "You can ask for the “figures” of this discussion's area.",
    },
    "stop": {
        "nl": "Dank je wel voor je bijdrage! Je stemmen zijn bewaard. Je kunt altijd terugkomen; zeg "
        "“verwijder mijn gegevens” om alles te wissen.",
        "en": "Thank you for taking part! Your votes are saved. You can come back any time; say “delete my "
        "data” to erase everything.",
    },
    "language_changed": {
        "nl": "Ik praat nu Nederlands met je.",
        "en": "I'll speak English with you now.",
    },
    "language_only": {
        "nl": "Dit gesprek is alleen in het Nederlands.",
        "en": "This discussion is only in English.",
    },
    "confirm_delete": {
        "nl": "Hiermee verwijder je alles van jou in dit gesprek: je stemmen, je stellingen (en de stemmen "
        "daarop) en dit gesprek. Dat kan niet ongedaan worden. Verwijderen?",
        "en": "This deletes everything of yours in this discussion: your votes, your statements (and the votes "
        "on them) and this conversation. It cannot be undone. Delete?",
    },
    "deleted": {
        "nl": "Je gegevens zijn verwijderd. Dank je wel voor je deelname.",
        "en": "Your data has been deleted. Thank you for taking part.",
    },
    "not_deleted": {
        "nl": "Goed, er is niets verwijderd.",
        "en": "All right, nothing has been deleted.",
    },
    "not_understood": {
        "nl": "Dat begreep ik niet.",
        "en": "I didn't understand that.",
    },
}

BUTTONS: Final[dict[str, dict[str, str]]] = {
    "start": {"nl": "Laten we beginnen", "en": "Let's start"},
    "vote": {"nl": "Alleen stemmen", "en": "Just vote"},
    "skip": {"nl": "Overslaan", "en": "Skip"},
    "yes": {"nl": "Ja, plaats hem", "en": "Yes, post it"},
    "edit": {"nl": "Aanpassen", "en": "Edit"},
    "restart": {"nl": "Opnieuw", "en": "Start over"},
    "agree": {"nl": "Eens", "en": "Agree"},
    "disagree": {"nl": "Oneens", "en": "Disagree"},
    "pass": {"nl": "Overslaan", "en": "Pass"},
    "existing": {"nl": "Daar ben ik het mee eens", "en": "I agree with that one"},
    "anyway": {"nl": "Toch de mijne plaatsen", "en": "Post mine anyway"},
    "more": {"nl": "Meer stellingen", "en": "More statements"},
    "write": {"nl": "Stelling schrijven", "en": "Write a statement"},
    "stand": {"nl": "Waar sta ik?", "en": "Where do I stand?"},
    "stop": {"nl": "Stoppen", "en": "Stop"},
    "help": {"nl": "Help", "en": "Help"},
    "figures": {"nl": "Cijfers van dit gebied", "en": "Figures for this area"},
    "delete_yes": {"nl": "Ja, verwijder alles", "en": "Yes, delete everything"},
    "no": {"nl": "Nee", "en": "No"},
    "language": {"nl": "English", "en": "Nederlands"},
}

PII_NAMES: Final[dict[str, dict[str, str]]] = {
    "email": {"nl": "e-mailadres", "en": "e-mail address"},
    "phone": {"nl": "telefoonnummer", "en": "phone number"},
    "postcode": {"nl": "postcode", "en": "postcode"},
    "address": {"nl": "adres", "en": "address"},
    "licence_plate": {"nl": "kenteken", "en": "licence plate"},
    "iban": {"nl": "rekeningnummer", "en": "bank account"},
    "bsn": {"nl": "BSN", "en": "citizen service number"},
    "url": {"nl": "webadres", "en": "web address"},
    "handle": {"nl": "gebruikersnaam", "en": "user name"},
    "name": {"nl": "naam", "en": "name"},
}


def say(language: str, key: str, **fields: object) -> str:
    """The phrase `key` in `language` with `fields` filled in."""
    return PHRASES[key][language].format(**fields)


def button(language: str, payload: str) -> str:
    return BUTTONS[payload][language]


def pii_names(language: str, kinds: list[str]) -> str:
    return ", ".join(PII_NAMES.get(kind, {}).get(language, kind) for kind in sorted(kinds))
