"""The privacy notice for residents, in Dutch and English: what is stored, what never is, how long,
receipts and withdrawal, the discussions, rights and contact.

It must say exactly what the reporting page and the chatbot already tell residents. The chatbot's
notice is quoted from `chatbot.phrases` itself. The reporting page's lists live in the web client
(api/web/src/report/texts.js, keys report.stored1-6, report.never1-5 and report.storedDevice) and cannot be imported
from Python, so they are copied below and tests/api/test_governance.py fails as soon as the two
differ. Everything the page leaves out (the receipt hash, the submission id, the daily rate-limit
pseudonyms, the raw-report horizon, the tile server) is stated here from the settings.
"""

from __future__ import annotations

from aggregation.retention import TEXT_RETENTION_DAYS
from api.governance.facts import Facts
from api.governance.register import number, public_bands
from api.governance.texts import Language, Text, todo
from chatbot.phrases import PHRASES
from privacy.receipts import MIN_RECEIPT_BITS

# Copied from api/web/src/report/texts.js; kept equal by a test.
WEB_STORED: dict[Language, tuple[str, ...]] = {
    "nl": (
        "de zeshoek van ongeveer 0,1 km² waarin het gebeurde",
        "de maand waarin we de melding ontvingen",
        "het dagdeel: nacht, ochtend, middag of avond",
        "wat er gebeurde, of het jou overkwam of dat je het zag, en hoe veilig je je voelde (als je dat invulde)",
        "de taal van de melding",
        "je toelichting, zonder de persoonsgegevens die we herkennen: 90 dagen, alleen voor moderatoren",
    ),
    "en": (
        "the hexagon of about 0.1 km² where it happened",
        "the month in which we received the report",
        "the part of the day: night, morning, afternoon or evening",
        "what happened, whether it happened to you or you saw it, and how safe you felt (if you said)",
        "the language of the report",
        "your description, without the personal data we recognise: for 90 days, for moderators only",
    ),
}
WEB_NEVER: dict[Language, tuple[str, ...]] = {
    "nl": (
        "je exacte plek: die verlaat je apparaat niet",
        "het tijdstip of de datum",
        "je IP-adres",
        "je apparaat of browser",
        "je naam of contactgegevens",
    ),
    "en": (
        "your exact location: it never leaves your device",
        "the time or the date",
        "your IP address",
        "your device or browser",
        "your name or contact details",
    ),
}

WEB_DEVICE: dict[Language, str] = {
    "nl": "Op dit apparaat bewaren we alleen je taalkeuze, meldingen die nog verstuurd moeten worden (zonder je "
    "exacte plek) tot ze verstuurd zijn, en de keuzelijsten en gemeentegrenzen (voor iedereen gelijk) zodat de "
    "pagina ook zonder verbinding werkt.",
    "en": "On this device we keep only your language choice, reports that still have to be sent (without your exact "
    "location) until they are sent, and the lists of choices and municipal boundaries (the same for everyone) so "
    "that the page also works without a connection.",
}


def render(facts: Facts, language: Language) -> str:
    s = facts.settings
    t = language
    names = ", ".join(f"Gemeente {m.name}" for m in facts.municipalities)
    lines: list[str] = []

    def add(*items: str) -> None:
        lines.extend(items)

    def para(text: Text) -> None:
        add(text(t), "")

    add(f"# {Text('Privacyverklaring straatstem', 'Privacy notice straatstem')(t)}", "")
    para(
        Text(
            f"Voor: {names}. Gemaakt op {facts.generated_on.isoformat()} uit de instellingen van deze installatie "
            f"(straatstem {facts.version}, instellingen-vingerafdruk `{facts.fingerprint[:16]}`).",
            f"For: {names}. Generated on {facts.generated_on.isoformat()} from this installation's settings "
            f"(straatstem {facts.version}, settings fingerprint `{facts.fingerprint[:16]}`).",
        )
    )

    add(f"## {Text('Een melding doen', 'Making a report')(t)}", "")
    para(
        Text(
            "Je meldt zonder naam en zonder contactgegevens. Je telefoon of browser maakt van de plek een zeshoek; "
            "alleen die zeshoek wordt verstuurd.",
            "You report without a name and without contact details. Your phone or browser turns the place into a "
            "hexagon; only that hexagon is sent.",
        )
    )
    add(f"### {Text('Wat we bewaren bij een melding', 'What we keep with a report')(t)}", "")
    add(*(f"- {item}" for item in WEB_STORED[t]))
    add(
        "- "
        + Text(
            f"een sleutel-hash van je bewijscode (de code zelf, minstens {MIN_RECEIPT_BITS} bits willekeur, "
            "bewaren we niet)",
            f"a keyed hash of your receipt code (we do not keep the code itself, at least {MIN_RECEIPT_BITS} "
            "random bits)",
        )(t),
        "- "
        + Text(
            "tot de eerste dag van de tweede maand na ontvangst: het willekeurige inzendingsnummer dat je app "
            "meestuurt, zodat een herhaalde verzending nooit een tweede melding wordt",
            "until the first day of the second month after receipt: the random submission id your app sends, so "
            "that sending again never makes a second report",
        )(t),
        "",
    )
    add(f"### {Text('Wat we nooit bewaren', 'What we never keep')(t)}", "")
    add(*(f"- {item}" for item in WEB_NEVER[t]), "")
    para(Text(WEB_DEVICE["nl"], WEB_DEVICE["en"]))
    if s.accept_coordinates:
        para(
            Text(
                "Apps die zelf geen zeshoek kunnen berekenen, mogen bij deze installatie de exacte plek sturen "
                "(STRAATSTEM_ACCEPT_COORDINATES). De server maakt er direct de zeshoek van en bewaart, logt of "
                "herhaalt de plek nooit. De meldpagina /report stuurt altijd alleen de zeshoek.",
                "Apps that cannot compute the hexagon themselves may send the exact place to this installation "
                "(STRAATSTEM_ACCEPT_COORDINATES). The server turns it into the hexagon at once and never stores, "
                "logs or echoes it. The reporting page /report always sends only the hexagon.",
            )
        )
    add(f"### {Text('Tegen misbruik', 'Against abuse')(t)}", "")
    para(
        Text(
            "Je apparaat lost eerst een kleine rekenpuzzel op (tegen spam). Om te tellen hoeveel meldingen van één "
            f"netwerk komen (hoogstens {s.rate_limit_per_day} per dag, {s.rate_limit_per_cell} per plek per dag), "
            "bewaren we alleen een pseudoniem van je netwerkadres, gemaakt met een willekeurige sleutel van die dag. "
            "Sleutel en tellers worden de volgende dag gewist; daarna kan niemand een pseudoniem nog aan een adres "
            "koppelen. Je IP-adres zelf wordt nergens opgeslagen of gelogd.",
            "Your device first solves a small computing puzzle (against spam). To count how many reports come from "
            f"one network (at most {s.rate_limit_per_day} a day, {s.rate_limit_per_cell} per place a day), we keep "
            "only a pseudonym of your network address, made with a random key of that day. The key and counters "
            "are deleted the next day; after that nobody can link a pseudonym to an address. Your IP address itself "
            "is never stored or logged.",
        )
    )
    add(f"### {Text('Hoe lang', 'How long')(t)}", "")
    add(
        "- "
        + Text(
            "De melding zelf: gewist zodra de maand- en kwartaalkaarten waarin ze meetelt klaar zijn, en uiterlijk "
            f"{s.raw_horizon_days} dagen na de eerste dag van de maand van ontvangst.",
            "The report itself: deleted once the monthly and quarterly maps it counts in are made, and at the "
            f"latest {s.raw_horizon_days} days after the first day of the month of receipt.",
        )(t),
        "- "
        + Text(
            f"Je toelichting: hoogstens {TEXT_RETENTION_DAYS} dagen (gewist {TEXT_RETENTION_DAYS} dagen na de "
            "eerste dag van de maand).",
            f"Your description: at most {TEXT_RETENTION_DAYS} days (deleted {TEXT_RETENTION_DAYS} days after the "
            "first day of the month).",
        )(t),
        "- "
        + Text(
            "De kaarten (alleen samengetelde aantallen met ruis) blijven bewaard en mogen openbaar.",
            "The maps (only added-up counts with noise) are kept and may be published.",
        )(t),
        "",
    )
    add(f"### {Text('Wie wat ziet', 'Who sees what')(t)}", "")
    bands = ", ".join(public_bands(s.public_threshold))
    para(
        Text(
            "Medewerkers van de gemeente zien nooit losse meldingen, alleen maandkaarten met aantallen: gebieden "
            f"met minder dan {s.release_k} meldingen worden samengevoegd of weggelaten, en elk aantal krijgt "
            "wiskundige ruis (differentiële privacy, per melding hoogstens epsilon "
            f"{number(s.staff_epsilon_cap + s.public_epsilon_cap, t)} in totaal). Iedereen ziet per kwartaal een "
            f"openbare kaart, alleen waar het aantal minstens {s.public_threshold} is en alleen in klassen "
            f"({bands}). Je toelichting lezen alleen moderatoren; ze komt nooit op een kaart of in een export.",
            "Municipal staff never see single reports, only monthly maps with counts: areas with fewer than "
            f"{s.release_k} reports are merged or left out, and every count gets mathematical noise (differential "
            f"privacy, at most epsilon {number(s.staff_epsilon_cap + s.public_epsilon_cap, t)} per report in all). "
            f"Everyone sees a quarterly public map, only where the count is at least {s.public_threshold} and only "
            f"in bands ({bands}). Only moderators read your description; it never appears on a map or in an export.",
        )
    )
    add(f"### {Text('Je bewijscode en intrekken', 'Your receipt code and withdrawing')(t)}", "")
    para(
        Text(
            "Na het versturen zie je één keer een bewijscode en een meldingsnummer. Wij kunnen de code niet "
            "terughalen: we bewaren hem niet leesbaar en weten niet wie je bent. Met nummer en code kun je je "
            "melding bekijken of intrekken; intrekken wist de melding meteen. Een kaart die al gemaakt was, blijft "
            "zoals ze is: daarin telt je melding alleen mee als aantal met ruis, dat niet naar jou te herleiden is. "
            "Na de bewaartermijn bestaat de melding niet meer.",
            "After sending you see a receipt code and a report number, once. We cannot recover the code: we do not "
            "keep it in readable form and do not know who you are. With the number and code you can check or "
            "withdraw your report; withdrawing deletes it at once. A map that was already made stays as it is: "
            "there your report only counts as part of a noisy number that cannot be traced to you. After the "
            "retention period the report no longer exists.",
        )
    )

    add(f"## {Text('Meepraten in een gesprek', 'Taking part in a discussion')(t)}", "")
    para(Text("Wat de chatbot je aan het begin vertelt:", "What the chatbot tells you at the start:"))
    add(f"> {PHRASES['privacy'][t]}", "")
    para(
        Text(
            "Daarbij: je doet mee onder een willekeurig nummer binnen dat ene gesprek; van je toegangscode bewaren "
            "we alleen een hash. We bewaren geen tijdstippen van stemmen of stellingen. Persoonsgegevens die we "
            "herkennen halen we uit je tekst vóór die wordt opgeslagen, en zo'n stelling bekijkt eerst een "
            f"moderator. Meningsgroepen kleiner dan {s.group_min_size} mensen worden nooit getoond. De taalmodellen "
            "draaien op de server van de gemeente; je tekst gaat nergens anders heen. Met “verwijder mijn "
            "gegevens” wis je je stemmen, je stellingen (met de stemmen daarop), je markeringen van stellingen en "
            "je chat.",
            "Also: you take part under a random number within that one discussion; of your access code we keep "
            "only a hash. We keep no times of votes or statements. Personal data we recognise is removed from your "
            "text before it is stored, and such a statement is checked by a moderator first. Opinion groups "
            f"smaller than {s.group_min_size} people are never shown. The language models run on the "
            "municipality's server; your text goes nowhere else. With “delete my data” you erase your votes, "
            "your statements (with the votes on them), your flags on statements and your chat.",
        )
    )

    add(f"## {Text('De kaarten', 'The maps')(t)}", "")
    if s.tile_url:
        from api.web.routes import tile_origin

        origin = tile_origin(s.tile_url)
        para(
            Text(
                f"De kaarten tonen een ondergrond van {origin}. Je browser haalt die plaatjes daar zelf op, dus die "
                "server ziet je IP-adres en welk gebied je bekijkt (op de meldpagina: rond de plek die je kiest). "
                "Wij sturen die server geen meldingen.",
                f"The maps show a background from {origin}. Your browser fetches those images there itself, so that "
                "server sees your IP address and which area you look at (on the reporting page: around the place "
                "you choose). We send that server no reports.",
            )
        )
    else:
        para(
            Text(
                "De pagina's laden niets van andere servers: geen kaartondergrond, geen lettertypen, "
                "geen statistieken.",
                "The pages load nothing from other servers: no base map, no fonts, no analytics.",
            )
        )

    add(f"## {Text('Je rechten', 'Your rights')(t)}", "")
    para(
        Text(
            "Je hebt recht op inzage, correctie, verwijdering en bezwaar. Omdat we niet weten wie je bent, kunnen we "
            "een melding alleen met je meldingsnummer en bewijscode aan jou koppelen (artikel 11 AVG): daarmee kun je "
            "haar bekijken en intrekken. In een gesprek wis je je gegevens zelf. Je kunt een klacht indienen bij de "
            "Autoriteit Persoonsgegevens (https://autoriteitpersoonsgegevens.nl).",
            "You have the right of access, rectification, erasure and objection. Because we do not know who you "
            "are, we can link a report to you only through its number and receipt code (Article 11 GDPR): with "
            "them you can view and withdraw it. In a discussion you erase your data yourself. You can complain to "
            "the Dutch Data Protection Authority, the Autoriteit Persoonsgegevens (https://autoriteitpersoonsgegevens.nl).",
        )
    )
    add(f"## {Text('Contact', 'Contact')(t)}", "")
    add(
        "- "
        + Text("Verwerkingsverantwoordelijke: ", "Controller: ")(t)
        + names
        + " "
        + todo(Text("postadres en e-mailadres", "postal and e-mail address"), t),
        "- "
        + Text("Functionaris gegevensbescherming: ", "Data protection officer: ")(t)
        + todo(Text("naam of functie en e-mailadres", "name or role and e-mail address"), t),
        "- "
        + Text("Verwerkers: ", "Processors: ")(t)
        + (
            ", ".join(p.name for p in facts.subprocessors)
            if facts.subprocessors
            else Text("geen (zie sub-processors.md)", "none (see sub-processors.md)")(t)
        ),
        "",
    )
    return "\n".join(lines)
