"""Algoritmeregister entries for the heatmap releases and the deliberation chatbot.

Field names, titles, required fields, lengths and permitted values follow the Algoritmeregister
publication standard version 1.0 ("Algoritmeregister Publicatiestandaard", Ministerie van BZK), as
the register's own software defines it (github.com/MinBZK/Algoritmeregister, backend/app/schemas/
config/v1_0.json). The register assigns `lars` (the algorithm id) itself, so entries leave it out.
One registration covers one organisation, so there is one entry per municipality and algorithm.

The JSON is always in Dutch: `lang` permits only "nld". The markdown rendering is in the language
asked for. Every number (k, thresholds, epsilons, caps, cadence, model names) comes from the
settings, the database or the code's own constants.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction

from aggregation import releases
from aggregation.retention import TEXT_RETENTION_DAYS
from api.governance.facts import Facts, Municipality
from api.governance.texts import Language, Text, plain_todo
from api.settings import STAFF_LAYERS
from privacy.kanon import K_FLOOR
from privacy.location import REPORT_RESOLUTION
from privacy.pii import PiiKind

STANDARD_VERSION = "1.0"
STANDARD_SOURCE = "https://github.com/MinBZK/Algoritmeregister (backend/app/schemas/config/v1_0.json)"


@dataclass(frozen=True)
class Field:
    key: str
    title: Text
    required: bool = False
    max_length: int | None = None
    permitted: tuple[str, ...] = ()
    max_items: int | None = None
    grouping: bool = False  # a list of {"title", "link"} items


THEMES = (
    "Organisatie en bedrijfsvoering",
    "Cultuur en recreatie",
    "Economie",
    "Overheidsfinanciën",
    "Wonen",
    "Internationaal",
    "Migratie en integratie",
    "Natuur en milieu",
    "Onderwijs en wetenschap",
    "Openbare orde en veiligheid",
    "Recht",
    "Ruimte en infrastructuur",
    "Sociale zekerheid",
    "Verkeer",
    "Werk",
    "Zorg en gezondheid",
)
STATUSES = ("In ontwikkeling", "In gebruik", "Buiten gebruik")
PUBLICATION_CATEGORIES = ("Hoog-risico AI-systeem", "Impactvolle algoritmes", "Overige algoritmes")

FIELDS: tuple[Field, ...] = (
    Field("name", Text("Naam", "Name"), required=True, max_length=100),
    Field("description_short", Text("Korte omschrijving", "Short description"), required=True, max_length=350),
    Field("organization", Text("Organisatie", "Organisation"), required=True, max_length=100),
    Field("category", Text("Thema", "Theme"), permitted=THEMES, max_items=3),
    Field("status", Text("Status", "Status"), required=True, permitted=STATUSES),
    Field("begin_date", Text("Begindatum", "Start date"), max_length=7),
    Field("end_date", Text("Einddatum", "End date"), max_length=7),
    Field("contact_email", Text("Contactgegevens", "Contact"), required=True, max_length=500),
    Field("website", Text("Link naar publiekspagina", "Link to public page"), max_length=500),
    Field(
        "publication_category",
        Text("Publicatiecategorie", "Publication category"),
        required=True,
        permitted=PUBLICATION_CATEGORIES,
    ),
    Field("url", Text("Link naar bronregistratie", "Link to source registration"), max_length=500),
    Field("goal", Text("Doel en impact", "Goal and impact"), max_length=2500),
    Field("proportionality", Text("Afwegingen", "Considerations"), max_length=2500),
    Field("human_intervention", Text("Menselijke tussenkomst", "Human intervention"), max_length=2500),
    Field("risks", Text("Risicobeheer", "Risk management"), max_length=2500),
    Field("lawful_basis", Text("Wettelijke basis", "Legal basis"), max_length=2500),
    Field("lawful_basis_grouping", Text("Verwijzingen wettelijke basis", "Legal basis references"), grouping=True),
    Field("process_index_url", Text("Link naar verwerkingsregister", "Link to record of processing"), max_length=500),
    Field("impacttoetsen_grouping", Text("Impacttoetsen", "Impact assessments"), grouping=True),
    Field("impacttoetsen", Text("Toelichting op impacttoetsen", "Notes on impact assessments"), max_length=2500),
    Field("source_data", Text("Gegevens", "Data"), max_length=2500),
    Field("source_data_grouping", Text("Verwijzingen gegevensbronnen", "Data source references"), grouping=True),
    Field("methods_and_models", Text("Technische werking", "How it works"), max_length=5000),
    Field("provider", Text("Leverancier", "Provider"), max_length=200),
    Field("publiccode", Text("Link naar broncode", "Link to source code"), max_length=500),
    Field("lang", Text("Taal", "Language"), required=True, permitted=("nld",)),
    Field("standard_version", Text("Versie publicatiestandaard", "Standard version"), permitted=(STANDARD_VERSION,)),
    Field("source_id", Text("Bron-ID", "Source id"), max_length=100),
    Field("tags", Text("Zoektermen", "Search terms"), max_length=2500),
)

LAYER_NAMES = {
    "total": Text("totaal", "total"),
    "category": Text("categorie", "category"),
    "band": Text("dagdeel", "time of day"),
    "felt_safety": Text("gevoel van veiligheid", "felt safety"),
    "category_band": Text("categorie per dagdeel", "category by time of day"),
}
GDPR = {
    "title": "Algemene verordening gegevensbescherming (AVG)",
    "link": "https://eur-lex.europa.eu/eli/reg/2016/679/oj",
}

# A value of an entry: text in both languages, a list of such, or grouping items.
Value = Text | list[Text] | list[dict[str, Text]]


def number(value: Fraction | int | float | str, language: Language) -> str:
    text = releases.decimal_text(value) if isinstance(value, Fraction) else str(value)
    return text.replace(".", ",") if language == "nl" else text


def layer_order(layer: str) -> tuple[int, str]:
    """The total first, then the breakdowns in the order releases store them."""
    return (STAFF_LAYERS.index(layer) if layer in STAFF_LAYERS else len(STAFF_LAYERS), layer)


def epsilons(layers: Mapping[str, Fraction | str], language: Language) -> str:
    return ", ".join(
        f"{LAYER_NAMES[layer](language) if layer in LAYER_NAMES else layer} {number(layers[layer], language)}"
        for layer in sorted(layers, key=layer_order)
    )


def both(make: Callable[[Language], str]) -> Text:
    """A Text from a function of the language, for texts full of numbers."""
    return Text(make("nl"), make("en"))


def public_bands(threshold: int) -> list[str]:
    return [releases.band_label(lo, hi) for lo, hi in releases.PUBLIC_BANDS if hi is None or hi >= threshold]


def _contact(contact: str | None) -> Text:
    if contact:
        return Text(contact, contact)
    what = Text(
        "e-mailadres of https-adres voor vragen over dit algoritme", "e-mail or https address for questions about this"
    )
    return Text(plain_todo(what, "nl"), plain_todo(what, "en"))


def _organisational(municipality: Municipality, used: bool, contact: str | None) -> dict[str, Value]:
    """The fields both entries fill the same way: who publishes, the domain, the status."""
    return {
        "organization": Text(f"Gemeente {municipality.name}", f"Gemeente {municipality.name}"),
        "category": [Text("Openbare orde en veiligheid", "Public order and safety")],
        "status": Text("In gebruik", "In use") if used else Text("In ontwikkeling", "In development"),
        "begin_date": Text("", ""),
        "end_date": Text("", ""),
        "contact_email": _contact(contact),
        "website": Text("", ""),
        "publication_category": Text("Impactvolle algoritmes", "Impactful algorithms"),
        "url": Text("", ""),
    }


def _software(facts: Facts, municipality: Municipality, kind: str) -> dict[str, Value]:
    """The fields both entries fill the same way about the software and the record itself."""
    licence = f" ({facts.licence})" if facts.licence else ""
    source_id = f"straatstem-{municipality.slug}-{kind}"
    return {
        "provider": Text(
            f"Open-sourcesoftware straatstem {facts.version}{licence}",
            f"Open-source software straatstem {facts.version}{licence}",
        ),
        "publiccode": Text("", ""),
        "lang": Text("nld", "nld"),
        "standard_version": Text(STANDARD_VERSION, STANDARD_VERSION),
        "source_id": Text(source_id, source_id),
    }


def _todo(nl: str, en: str) -> Text:
    what = Text(nl, en)
    return Text(plain_todo(what, "nl"), plain_todo(what, "en"))


def _impact_assessments() -> list[dict[str, Text]]:
    return [
        {
            "title": Text("Data Protection Impact Assessment (DPIA)", "Data Protection Impact Assessment (DPIA)"),
            "link": _todo("https-adres van de gepubliceerde DPIA", "https address of the published DPIA"),
        },
        {
            "title": Text(
                "Impact Assessment Mensenrechten en Algoritmes (IAMA)",
                "Impact Assessment Mensenrechten en Algoritmes (IAMA)",
            ),
            "link": _todo("https-adres van het IAMA", "https address of the IAMA"),
        },
    ]


def _lawful_basis() -> Text:
    return Text(
        "Artikel 6 lid 1 sub e AVG (taak van algemeen belang). "
        + plain_todo(Text("de taak en de wet of verordening waarop die berust", "the task and its legal source"), "nl"),
        "Article 6(1)(e) GDPR (task in the public interest). "
        + plain_todo(Text("de taak en de wet of verordening waarop die berust", "the task and its legal source"), "en"),
    )


def heatmap_entry(facts: Facts, municipality: Municipality, contact: str | None) -> dict[str, Value]:
    s = facts.settings
    lifetime = s.staff_epsilon_cap + s.public_epsilon_cap
    from api.app import JOB_INTERVAL_SECONDS
    from api.releases.service import HOTSPOT_ALPHA

    schedule = Text(
        f"elke {JOB_INTERVAL_SECONDS // 60} minuten in de server" if s.run_jobs else "door een geplande taak",
        f"every {JOB_INTERVAL_SECONDS // 60} minutes inside the server" if s.run_jobs else "by a scheduled job",
    )

    def methods(lang: Language) -> str:
        nl = lang == "nl"
        bands = ", ".join(public_bands(s.public_threshold))
        return (
            (
                f"Invoer: per melding een H3-zeshoek van resolutie {REPORT_RESOLUTION} (ongeveer 0,1 km²), de "
                "maand, een dagdeel, een categorie, of het de melder zelf overkwam en optioneel een gevoel van "
                "veiligheid 1-5. "
                f"Werking: na afloop van elke maand (plus {s.release_delay_days} dagen) wordt {schedule(lang)} per "
                "gemeente één publicatie voor medewerkers gebouwd, na elk kwartaal één openbare. Een publicatie wordt "
                "één keer berekend, bevroren opgeslagen en daarna nooit herberekend. (1) Geometrie: zeshoeken worden "
                f"op de H3-hiërarchie samengevoegd (resolutie 9 → 8 → 7, openbaar vanaf 8) tot elke getoonde zeshoek "
                f"0 of minstens k = {s.release_k} meldingen bevat (minimum in de code: {K_FLOOR}); gebieden met minder "
                "dan k worden onderdrukt. Uitsplitsingen worden alleen getoond als elk niet-leeg deel minstens k "
                "meldingen heeft. Dit gebeurt op de echte aantallen (k-anonimiteit). (2) Ruis: op elk getoond aantal "
                "komt discrete Laplace-ruis (OpenDP), differentiële privacy met per melding en per laag epsilon "
                f"{epsilons(dict(s.staff_epsilon), lang)} (medewerkers, plafond {number(s.staff_epsilon_cap, lang)} "
                f"per maand) en {epsilons(dict(s.public_epsilon), lang)} (openbaar, plafond "
                f"{number(s.public_epsilon_cap, lang)} per kwartaal): samen hoogstens {number(lifetime, lang)} per "
                "melding. Een grootboek weigert elke publicatie die het plafond zou overschrijden. Medewerkers zien "
                f"per waarde een {int(releases.INTERVAL_LEVEL * 100)}%-interval. De openbare kaart toont een zeshoek "
                f"alleen als het aantal met ruis minstens {s.public_threshold} is, en dan alleen in klassen ({bands}). "
                "(3) Hotspots: Getis-Ord Gi* op de gepubliceerde waarden met ruis op resolutie 8 (de zeshoek en zijn "
                f"buren), met Benjamini-Hochberg-correctie (q ≤ {number(HOTSPOT_ALPHA, lang)}); dat is nabewerking "
                "en kost geen extra privacybudget. Kwartalen en jaren zijn sommen van maandpublicaties. "
                "Het algoritme is niet zelflerend: het zijn vaste rekenregels."
            )
            if nl
            else (
                f"Input: per report an H3 cell of resolution {REPORT_RESOLUTION} (about 0.1 km²), the month, a part "
                "of the day, a category, whether it happened to the reporter and an optional felt safety 1-5. "
                f"Method: after each month closes (plus {s.release_delay_days} days) one staff release per "
                f"municipality is built {schedule(lang)}, after each quarter one public release. A release is computed "
                "once, stored frozen and never recomputed. (1) Geometry: cells are merged on the H3 hierarchy "
                "(resolution 9 → 8 → 7, public from 8) until every shown cell holds 0 or at least "
                f"k = {s.release_k} reports (floor in code: {K_FLOOR}); areas below k are suppressed. Breakdowns are "
                "shown only where every non-empty part holds at least k. This uses the true counts (k-anonymity). "
                "(2) Noise: every shown count gets discrete Laplace noise (OpenDP), differential privacy with per "
                f"report and layer epsilon {epsilons(dict(s.staff_epsilon), lang)} (staff, cap "
                f"{number(s.staff_epsilon_cap, lang)} per month) and {epsilons(dict(s.public_epsilon), lang)} "
                f"(public, cap {number(s.public_epsilon_cap, lang)} per quarter): at most {number(lifetime, lang)} "
                "per report in all. A ledger refuses any release that would pass the cap. Staff see a "
                f"{int(releases.INTERVAL_LEVEL * 100)}% interval per value. The public map shows a cell only where "
                f"the noisy count is at least {s.public_threshold}, and then only in bands ({bands}). (3) Hotspots: "
                "Getis-Ord Gi* on the released noisy values at resolution 8 (the cell and its neighbours), "
                f"Benjamini-Hochberg corrected (q ≤ {HOTSPOT_ALPHA}); this is post-processing and spends no extra "
                "privacy budget. Quarters and years are sums of monthly releases. The algorithm does not learn: it "
                "is a fixed set of rules."
            )
        )

    used = sum(municipality.releases.values()) > 0
    return {
        "name": Text("Hotspotkaart straatintimidatie", "Street harassment hotspot map"),
        "description_short": Text(
            "Bewoners melden straatintimidatie anoniem. Dit algoritme telt de meldingen per maand en kwartaal op "
            "een kaart van zeshoeken, voegt gebieden met te weinig meldingen samen en voegt ruis toe, zodat geen "
            "melder te herkennen is. Zo ziet de gemeente waar het vaak gebeurt.",
            "Residents report street harassment anonymously. This algorithm counts the reports per month and "
            "quarter on a map of hexagons, merges areas with too few reports and adds noise, so that no reporter "
            "can be recognised. The municipality sees where it happens often.",
        ),
        **_organisational(municipality, used, contact),
        "goal": Text(
            "Doel: zien waar en wanneer straatintimidatie vaak voorkomt, zodat de gemeente en haar partners "
            "gericht maatregelen kunnen nemen (verlichting, toezicht, voorlichting) en kunnen zien of die helpen. "
            "Impact: bewoners melden zonder naam, contactgegevens, tijdstip of exacte plek. Medewerkers zien per "
            "maand een kaart met aantallen; iedereen ziet per kwartaal een openbare kaart in klassen. Er worden "
            "geen besluiten over personen genomen.",
            "Goal: to see where and when street harassment happens often, so that the municipality and its "
            "partners can take targeted measures (lighting, supervision, campaigns) and see whether they work. "
            "Impact: residents report without name, contact details, time or exact place. Staff see a monthly map "
            "with counts; everyone sees a quarterly public map in bands. No decisions about persons are taken.",
        ),
        "proportionality": Text(
            "Voordeel: inzicht in een probleem dat nu grotendeels onzichtbaar blijft, zonder dat iemand zich "
            "bekend hoeft te maken. Nadeel: aantallen zijn onzeker door de ruis en kleine gebieden worden "
            "samengevoegd of onderdrukt, dus de kaart is grover dan de werkelijkheid. Overwogen alternatieven: "
            "ruwe meldingen of live zoekvragen tonen (kan melders herkenbaar maken), alleen k-anonimiteit (kwetsbaar "
            "voor het aftrekken van overzichten van elkaar) of alleen ruis (kleine aantallen blijven te zien). "
            "Daarom beide. " + plain_todo(Text("afweging van de gemeente", "the municipality's assessment"), "nl"),
            "Benefit: insight into a problem that now stays largely invisible, without anyone having to identify "
            "themselves. Cost: counts are uncertain because of the noise and small areas are merged or suppressed, "
            "so the map is coarser than reality. Alternatives considered: showing raw reports or live queries "
            "(could expose reporters), k-anonymity alone (open to subtracting views from each other) or noise alone "
            "(small counts stay visible). Hence both. "
            + plain_todo(Text("afweging van de gemeente", "the municipality's assessment"), "en"),
        ),
        "human_intervention": Text(
            "Medewerkers van de gemeente bekijken de kaarten, hotspots en trends en beslissen zelf of en welke "
            "maatregelen nodig zijn. Het algoritme neemt geen besluit en stuurt niemand aan. Elke raadpleging en "
            "export door medewerkers komt in een auditlog.",
            "Municipal staff look at the maps, hotspots and trends and decide themselves whether and which "
            "measures are needed. The algorithm takes no decision and directs no one. Every staff view and export "
            "is written to an audit log.",
        ),
        "risks": Text(
            "Herkenbaarheid van melders: beperkt door zeshoeken van 0,1 km², alleen maand en dagdeel, de k-regel, "
            "ruis met een privacybudget per melding en een grootboek dat overschrijding weigert. Verkeerde "
            "conclusies door ruis: medewerkers zien intervallen; hotspots worden gecorrigeerd voor veelvuldig "
            "toetsen. Vertekening: meldingen laten zien wie meldt, niet hoe vaak het overal gebeurt. Misbruik door "
            "nepmeldingen: anti-spamopgave en limieten per netwerk per dag. "
            + plain_todo(
                Text("hoe en hoe vaak de gemeente dit controleert", "how and how often this is checked"), "nl"
            ),
            "Reporters being recognised: limited by hexagons of 0.1 km², only month and part of day, the k rule, "
            "noise with a privacy budget per report and a ledger that refuses overspending. Wrong conclusions due "
            "to noise: staff see intervals; hotspots are corrected for multiple testing. Bias: reports show who "
            "reports, not how often it happens everywhere. Abuse by fake reports: an anti-spam challenge and limits "
            "per network per day. "
            + plain_todo(
                Text("hoe en hoe vaak de gemeente dit controleert", "how and how often this is checked"), "en"
            ),
        ),
        "lawful_basis": _lawful_basis(),
        "lawful_basis_grouping": [
            {"title": Text(GDPR["title"], GDPR["title"]), "link": Text(GDPR["link"], GDPR["link"])}
        ],
        "process_index_url": Text("", ""),
        "impacttoetsen_grouping": _impact_assessments(),
        "impacttoetsen": Text("", ""),
        "source_data": Text(
            "Anonieme meldingen van bewoners: zeshoek, maand, dagdeel, categorie, slachtoffer of getuige, gevoel "
            f"van veiligheid; en de zeshoeken die bij de gemeente horen ({municipality.cells}). Niet gebruikt: de "
            "vrije toelichting, tijdstippen, IP-adressen of andere persoonsgegevens.",
            "Anonymous reports by residents: hexagon, month, part of day, category, victim or witness, felt "
            f"safety; and the hexagons belonging to the municipality ({municipality.cells}). Not used: the free "
            "description, times, IP addresses or other personal data.",
        ),
        "source_data_grouping": [],
        "methods_and_models": both(methods),
        **_software(facts, municipality, "heatmap"),
        "tags": Text(
            "straatintimidatie, meldingen, hotspots, differentiële privacy, k-anonimiteit, H3",
            "street harassment, reports, hotspots, differential privacy, k-anonymity, H3",
        ),
    }


def _default(function: object, name: str) -> object:
    assert callable(function)
    return inspect.signature(function).parameters[name].default


def chatbot_entry(facts: Facts, municipality: Municipality, contact: str | None) -> dict[str, Value]:
    from chatbot import nlp, opinion, toxicity

    s = facts.settings
    min_votes = _default(opinion.compute, "min_votes")
    max_groups = _default(opinion.compute, "max_groups")
    kinds = ", ".join(kind.value for kind in PiiKind)
    models = facts.models

    def methods(lang: Language) -> str:
        model = models.get("nlp", "")
        if facts.semantic_model:
            duplicate = Text(
                "een stelling met dezelfde genormaliseerde tekst, of met een zinsvector met cosinus ≥ "
                f"{number(nlp.NEAR_DUPLICATE_THRESHOLD, 'nl')} (lokaal: {model}),",
                "a statement with the same normalised text, or with a sentence vector of cosine ≥ "
                f"{nlp.NEAR_DUPLICATE_THRESHOLD} (local: {model}),",
            )(lang)
        else:
            duplicate = Text(
                f"alleen een stelling met dezelfde genormaliseerde tekst ({model})",
                f"only a statement with the same normalised text ({model})",
            )(lang)
        if lang == "nl":
            return (
                "Invoer: de stellingen en stemmen (eens, oneens, overslaan) van anonieme deelnemers. (1) Gesprek: de "
                "chatbot helpt een deelnemer een ervaring om te zetten in een standpunt (wat moet er veranderen, en "
                "waarom), spiegelt dat terug ter bevestiging en stelt daarna stellingen van anderen voor. "
                "(2) Screening van elke stelling: eerst verwijdert een regelgebaseerde filter persoonsgegevens "
                f"({kinds}); "
                f"namenmodel: {models.get('names', '')}. Daarna een toon-controle ({models.get('toxicity', '')}): "
                f"een bedreiging of score ≥ {number(toxicity.TOXIC_THRESHOLD, lang)} wordt geweigerd met het verzoek "
                f"het anders te zeggen; twijfel (scheldwoorden, score ≥ {number(toxicity.DOUBT_THRESHOLD, lang)}) en "
                "elke stelling waaruit persoonsgegevens zijn gehaald wacht op een moderator. (3) Dubbelen: "
                f"{duplicate} wordt aangeboden om op te stemmen; de deelnemer beslist. (4) Meningsgroepen volgens de "
                f"Polis-methode: deelnemers met minstens {min_votes} stemmen, PCA in 2 dimensies, k-means met 2 tot "
                f"{max_groups} groepen gekozen op silhouet, deterministisch; een groep kleiner dan "
                f"{s.group_min_size} wordt nooit getoond. Herberekend na {s.recompute_votes} nieuwe stemmen. "
                "(5) Routering: de volgende stelling volgt de Polis-prioriteit maal een balansfactor die stellingen "
                "voorrang geeft van groepen die de deelnemer het minst zag; nooit twee keer dezelfde; gevoelige "
                f"stellingen over te slaan; na {s.session_prompts} stellingen een pauze. "
                "Modellen draaien lokaal en leren niet bij van de gesprekken."
            )
        return (
            "Input: the statements and votes (agree, disagree, pass) of anonymous participants. (1) Dialogue: the "
            "chatbot helps a participant turn an experience into a position (what should change, and why), "
            "reflects it back for confirmation and then offers statements by others. (2) Screening of every "
            f"statement: first a rule-based filter removes personal data ({kinds}); name model: "
            f"{models.get('names', '')}. Then a toxicity check ({models.get('toxicity', '')}): a threat or a score "
            f"≥ {toxicity.TOXIC_THRESHOLD} is refused with a request to rephrase; doubt (slurs, a score ≥ "
            f"{toxicity.DOUBT_THRESHOLD}) and any statement personal data was removed from waits for a moderator. "
            f"(3) Duplicates: {duplicate} is offered to vote on instead; the participant decides. (4) Opinion groups "
            f"following Polis: participants with at least {min_votes} votes, 2-D PCA, k-means with 2 to "
            f"{max_groups} groups chosen by silhouette, deterministic; a group smaller than {s.group_min_size} is "
            f"never shown. Recomputed after {s.recompute_votes} new votes. (5) Routing: the next statement follows "
            "Polis's priority times a balance factor favouring statements of groups the participant has seen "
            f"least; never the same twice; sensitive statements can be skipped; a pause after {s.session_prompts} "
            "statements. Models run locally and do not learn from the conversations."
        )

    used = any(state != "draft" for state in municipality.discussions)
    return {
        "name": Text("Gesprekshulp voor inwonersgesprekken", "Deliberation chatbot"),
        "description_short": Text(
            "Een chatbot helpt inwoners in een online gesprek hun mening in woorden te vatten en laat hen stemmen "
            "op stellingen van anderen. Het algoritme zoekt meningsgroepen en zorgt dat iedereen stellingen van "
            "alle groepen ziet. Persoonsgegevens en bedreigingen worden eruit gefilterd.",
            "A chatbot helps residents in an online discussion put their view into words and vote on statements "
            "by others. The algorithm finds opinion groups and makes sure everyone sees statements from all "
            "groups. Personal data and threats are filtered out.",
        ),
        **_organisational(municipality, used, contact),
        "goal": Text(
            "Doel: inwoners laten meepraten over wat er moet veranderen, waarbij elke groep met een eigen mening "
            "gehoord wordt naar verhouding, en de gemeente een eerlijk beeld geven van waar men het over eens en "
            "oneens is. Impact: deelnemers doen anoniem mee; hun stellingen worden zonder naam gepubliceerd; wat "
            "zij over een eigen ervaring vertellen blijft privé.",
            "Goal: to let residents have a say in what should change, with every group of opinion heard in "
            "proportion, and give the municipality a fair picture of where people agree and disagree. Impact: "
            "participants take part anonymously; their statements are published without a name; what they tell "
            "about their own experience stays private.",
        ),
        "proportionality": Text(
            "Voordeel: meer en evenwichtiger inbreng dan een gewone enquête of inspraakavond, zonder account. "
            "Nadeel: automatische filters kunnen zich vergissen (een stelling onterecht laten wachten of een "
            "bedreiging missen); daarom beslist bij twijfel een moderator. "
            + plain_todo(Text("afweging van de gemeente", "the municipality's assessment"), "nl"),
            "Benefit: more and more balanced input than an ordinary survey or hearing, without an account. Cost: "
            "automatic filters can err (hold a statement needlessly or miss a threat); hence a moderator decides "
            "when in doubt. " + plain_todo(Text("afweging van de gemeente", "the municipality's assessment"), "en"),
        ),
        "human_intervention": Text(
            "Moderatoren van de gemeente keuren stellingen goed of af (met een reden), beoordelen stellingen die "
            f"wachten en stellingen die door {s.flag_threshold} deelnemers gemeld zijn, en kunnen een gesprek "
            "pauzeren. Alleen een duidelijke bedreiging wordt automatisch geweigerd; de deelnemer kan het anders "
            "formuleren. Over personen wordt niets besloten.",
            "Municipal moderators accept or reject statements (with a reason), review held statements and "
            f"statements flagged by {s.flag_threshold} participants, and can pause a discussion. Only a clear "
            "threat is refused automatically; the participant can rephrase it. No decisions about persons are "
            "taken.",
        ),
        "risks": Text(
            "Persoonsgegevens in stellingen: gefilterd vóór opslag, en zulke stellingen wachten op een moderator. "
            f"Herkenbaarheid in kleine groepen: groepen kleiner dan {s.group_min_size} worden nooit getoond. "
            "Onterechte weigering of doorlating door de toon-controle: alleen duidelijke bedreigingen worden "
            "geweigerd, twijfel gaat naar een mens. Eenzijdigheid: de routering brengt stellingen van alle groepen "
            "in beeld. " + plain_todo(Text("monitoring door de gemeente", "monitoring by the municipality"), "nl"),
            "Personal data in statements: filtered before storage, and such statements wait for a moderator. "
            f"Recognisability in small groups: groups smaller than {s.group_min_size} are never shown. Wrongful "
            "refusal or acceptance by the toxicity check: only clear threats are refused, doubt goes to a person. "
            "One-sidedness: routing brings statements of all groups into view. "
            + plain_todo(Text("monitoring door de gemeente", "monitoring by the municipality"), "en"),
        ),
        "lawful_basis": _lawful_basis(),
        "lawful_basis_grouping": [
            {"title": Text(GDPR["title"], GDPR["title"]), "link": Text(GDPR["link"], GDPR["link"])}
        ],
        "process_index_url": Text("", ""),
        "impacttoetsen_grouping": _impact_assessments(),
        "impacttoetsen": Text("", ""),
        "source_data": Text(
            "Stellingen en stemmen van anonieme deelnemers (een willekeurig nummer per gesprek, geen account, "
            f"geen tijdstippen). Een ervaring die een deelnemer in de chat vertelt, blijft privé en wordt niet "
            f"gebruikt. Geen meldingen: bij een gesprek met een gebied noemt de bot alleen de openbare kaart. "
            f"Meldingstekst wordt na {TEXT_RETENTION_DAYS} dagen gewist en komt nooit in het gesprek.",
            "Statements and votes of anonymous participants (a random number per discussion, no account, no "
            "times). An experience a participant tells in the chat stays private and is not used. No reports: for "
            "a discussion with an area the bot quotes only the public map. Report text is deleted after "
            f"{TEXT_RETENTION_DAYS} days and never enters the discussion.",
        ),
        "source_data_grouping": [],
        "methods_and_models": both(methods),
        **_software(facts, municipality, "chatbot"),
        "tags": Text(
            "participatie, chatbot, Polis, meningsgroepen, moderatie, straatintimidatie",
            "participation, chatbot, Polis, opinion groups, moderation, street harassment",
        ),
    }


def as_json(entry: dict[str, Value]) -> dict[str, object]:
    """The entry as the register takes it: Dutch values, every field of the standard in order."""
    result: dict[str, object] = {}
    for spec in FIELDS:
        value = entry[spec.key]
        if isinstance(value, Text):
            result[spec.key] = value.nl
        elif spec.grouping:
            result[spec.key] = [{k: v.nl for k, v in item.items()} for item in value if isinstance(item, dict)]
        else:
            result[spec.key] = [v.nl for v in value if isinstance(v, Text)]
    return result


def as_markdown(entry: dict[str, Value], kind: Text, municipality: Municipality, language: Language) -> str:
    name = entry["name"]
    assert isinstance(name, Text)
    heading = Text(
        f"Algoritmeregister: {name.nl} — Gemeente {municipality.name}",
        f"Algorithm register: {name.en} — Gemeente {municipality.name}",
    )
    intro = Text(
        f"Leesbare weergave van `{kind.nl}.json`, de registratie volgens de Algoritmeregister Publicatiestandaard "
        f"{STANDARD_VERSION} (bron van de velden: {STANDARD_SOURCE}). Het JSON-bestand is wat je aanlevert.",
        f"Readable rendering of `{kind.en}.json`, the entry following the Algoritmeregister publication standard "
        f"{STANDARD_VERSION} (field source: {STANDARD_SOURCE}). The JSON is what you submit; it is in Dutch because "
        "the register accepts only Dutch.",
    )
    lines = [f"# {heading(language)}", "", intro(language), ""]
    for spec in FIELDS:
        value = entry[spec.key]
        marker = " *" if spec.required else ""
        lines.append(f"## {spec.title(language)}{marker}")
        lines.append("")
        lines.append(f"`{spec.key}`")
        lines.append("")
        if isinstance(value, Text):
            text = value(language)
        elif spec.grouping:
            text = "\n".join(
                f"- {item['title'](language)}: {item['link'](language)}" for item in value if isinstance(item, dict)
            )
        else:
            text = ", ".join(v(language) for v in value if isinstance(v, Text))
        lines.append(_marked(text, language) if text else "—")
        lines.append("")
    lines.append(Text("\\* verplicht veld van de standaard", "\\* required by the standard")(language))
    return "\n".join(lines) + "\n"


def _marked(text: str, language: Language) -> str:
    """Placeholders inside JSON values are plain; in markdown they are made bold so nobody misses one."""
    return re.sub(r"(\[(?:IN TE VULLEN|TO FILL IN):[^\]]*\])", r"**\1**", text)
