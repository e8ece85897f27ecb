"""A DPIA skeleton following the 17 points of the Rijksoverheid "Model DPIA" (parts A-D).

What the software knows is filled in from the facts: the data inventory from the live schema,
retention from the settings, k, thresholds, epsilon per layer, caps, the ledger as it stands,
the language models and the sub-processors. What only the controller can judge (legal basis,
interests, risk scores, organisational measures, sign-off) is left as a marked placeholder.
Headings are Dutch with English subtitles; the body is in the language asked for.
"""

from __future__ import annotations

from fractions import Fraction

from aggregation import releases
from aggregation.retention import TEXT_RETENTION_DAYS
from api.governance import inventory
from api.governance.facts import Facts
from api.governance.register import LAYER_NAMES, epsilons, layer_order, number, public_bands
from api.governance.texts import Language, Text, table, todo
from api.settings import PUBLIC_EPSILON_CEILING, STAFF_EPSILON_CEILING
from privacy.kanon import K_FLOOR
from privacy.pii import PiiKind


def _h(level: int, number_: str, nl: str, en: str) -> str:
    prefix = f"{number_}. " if number_ else ""
    return f"{'#' * level} {prefix}{nl} *({en})*"


def _ledger(facts: Facts, t: Language) -> list[str]:
    lines: list[str] = []
    header = [
        Text("gemeente", "municipality")(t),
        Text("publiek", "audience")(t),
        Text("emmer (periode)", "bucket (period)")(t),
        Text("epsilon per laag", "epsilon per layer")(t),
        Text("verbruikt", "spent")(t),
        Text("plafond", "cap")(t),
        Text("over", "left")(t),
    ]
    rows = []
    for municipality in facts.municipalities:
        for bucket in municipality.ledger:
            left = Fraction(bucket.cap) - Fraction(bucket.spent)
            rows.append(
                [
                    municipality.slug,
                    Text("medewerkers", "staff")(t) if bucket.audience == "staff" else Text("publiek", "public")(t),
                    bucket.period,
                    epsilons(bucket.layers, t),
                    number(bucket.spent, t),
                    number(bucket.cap, t),
                    number(releases.decimal_text(left), t),
                ]
            )
    if rows:
        lines += [table(header, rows), ""]
    else:
        lines += [Text("Nog geen publicaties: het grootboek is leeg.", "No releases yet: the ledger is empty.")(t), ""]
    return lines


def render(facts: Facts, language: Language) -> str:
    s = facts.settings
    t = language
    retention = inventory.retention_rules(s, t)
    names = ", ".join(f"Gemeente {m.name}" for m in facts.municipalities)
    out: list[str] = []

    def add(*items: str) -> None:
        out.extend(items)

    def para(text: Text) -> None:
        add(text(t), "")

    def fill(nl: str, en: str) -> None:
        add(todo(Text(nl, en), t), "")

    add(f"# DPIA straatstem — {names}", "")
    para(
        Text(
            f"Gegenereerd op {facts.generated_on.isoformat()} door `straatstem governance` uit de draaiende "
            f"configuratie: straatstem {facts.version}, instellingen-vingerafdruk `{facts.fingerprint}` (zie "
            f"manifest.json), databaseschema t/m `{facts.migrations[-1] if facts.migrations else '-'}`. Dit is een "
            "skelet volgens het Model DPIA Rijksdienst (17 punten, delen A-D). Feiten over de software komen uit de "
            "configuratie en de database; alles wat gemarkeerd is met **[IN TE VULLEN: ...]** vult de privacy "
            "officer of functionaris gegevensbescherming in. Genereer opnieuw na elke wijziging van instellingen "
            "of versie.",
            f"Generated on {facts.generated_on.isoformat()} by `straatstem governance` from the running "
            f"configuration: straatstem {facts.version}, settings fingerprint `{facts.fingerprint}` (see "
            f"manifest.json), database schema up to `{facts.migrations[-1] if facts.migrations else '-'}`. This is a "
            "skeleton following the Dutch government's Model DPIA (17 points, parts A-D). Facts about the software "
            "come from the configuration and the database; everything marked **[TO FILL IN: ...]** is for the "
            "privacy officer or data protection officer. Regenerate after every change of settings or version.",
        )
    )

    # --- A ---------------------------------------------------------------------------------------
    add(_h(2, "A", "Beschrijving kenmerken gegevensverwerkingen", "Description of the processing"), "")
    add(_h(3, "1", "Voorstel", "Proposal"), "")
    para(
        Text(
            "straatstem laat bewoners anoniem straatintimidatie melden vanaf een telefoon, geeft medewerkers van de "
            "gemeente kaarten met hotspots die geen enkele melder kunnen blootgeven, en voert gemodereerde "
            "inwonersgesprekken waarin een chatbot helpt een mening te verwoorden en elke meningsgroep naar "
            "verhouding aan bod laat komen.",
            "straatstem lets residents report street harassment anonymously from a phone, gives municipal staff "
            "hotspot maps that cannot expose any single reporter, and runs moderated discussions in which a chatbot "
            "helps residents put their view into words while every opinion group is heard in proportion.",
        )
    )
    fill(
        "aanleiding, opdrachtgever, besluit waar deze DPIA bij hoort, betrokken afdelingen en partners (zoals politie)",
        "occasion, commissioning party, decision this DPIA belongs to, departments and partners (such as the police)",
    )

    add(_h(3, "2", "Persoonsgegevens", "Personal data"), "")
    tables = sorted({c.table for c in facts.columns})
    para(
        Text(
            f"De volledige gegevensinventaris, gelezen uit information_schema van de database op het moment van "
            f"genereren: {len(tables)} tabellen, {len(facts.columns)} kolommen. Een kolom zonder toelichting laat "
            "het genereren mislukken, zodat niets wordt vergeten.",
            f"The complete data inventory, read from the database's information_schema when this was generated: "
            f"{len(tables)} tables, {len(facts.columns)} columns. A column without an annotation makes generation "
            "fail, so nothing is forgotten.",
        )
    )
    for name in tables:
        note = inventory.TABLES[name]
        add(f"#### `{name}`", "")
        add(
            f"- {Text('Doel', 'Purpose')(t)}: {note.purpose(t)}",
            f"- {Text('Gegevens', 'Data')(t)}: {note.data(t)}",
            f"- {Text('Bewaartermijn', 'Retention')(t)}: {retention[note.retention]}",
            "",
        )
        rows = []
        for column in (c for c in facts.columns if c.table == name):
            purpose, own = inventory.COLUMNS[(name, column.name)]
            rows.append(
                [
                    f"`{column.name}`",
                    column.data_type,
                    Text("ja", "yes")(t) if column.nullable else Text("nee", "no")(t),
                    purpose(t),
                    retention[own] if own else Text("als de rij", "as the row")(t),
                ]
            )
        header = [
            Text("kolom", "column")(t),
            Text("type", "type")(t),
            Text("mag leeg", "nullable")(t),
            Text("doel", "purpose")(t),
            Text("bewaartermijn", "retention")(t),
        ]
        add(table(header, rows), "")
    add(f"#### {Text('Nooit opgeslagen', 'Never stored')(t)}", "")
    never = [
        Text("exacte plekken of coördinaten (alleen de zeshoek)", "exact places or coordinates (only the cell)"),
        Text("tijdstip of datum van een melding, stem of stelling", "time or date of a report, vote or statement"),
        Text("IP-adressen, user agents, apparaat-ID's", "IP addresses, user agents, device ids"),
        Text(
            "namen of contactgegevens van melders of deelnemers",
            "names or contact details of reporters or participants",
        ),
        Text("oplopende nummers bij meldingen", "serial ids of reports"),
    ]
    add(*(f"- {item(t)}" for item in never), "")
    para(
        Text(
            "Bijzonder: de vrije toelichting bij een melding, de stellingen en de chatstand bevatten tekst van "
            "bewoners. Herkende persoonsgegevens (" + ", ".join(k.value for k in PiiKind) + ") worden vóór opslag "
            "vervangen, maar een filter herkent niet alles.",
            "Note: the free description of a report, the statements and the chat state hold residents' text. "
            "Recognised personal data (" + ", ".join(k.value for k in PiiKind) + ") is replaced before storage, but "
            "a filter does not recognise everything.",
        )
    )

    add(_h(3, "3", "Gegevensverwerkingen", "Processing operations"), "")
    from api.app import JOB_INTERVAL_SECONDS

    minutes = JOB_INTERVAL_SECONDS // 60
    jobs = (
        Text(
            f"Opruimen: bewaartermijnen uitvoeren, elke {minutes} minuten in de server",
            f"Retention: enforce retention periods every {minutes} minutes inside the server",
        )
        if s.run_jobs
        else Text(
            "Opruimen: bewaartermijnen uitvoeren als geplande taak (`straatstem retention run`)",
            "Retention: enforce retention periods as a scheduled job (`straatstem retention run`)",
        )
    )
    operations = [
        Text(
            "Melden: zeshoek, maand, dagdeel, categorie, rol, gevoel, optionele tekst",
            "Reporting: cell, month, band, category, role, felt safety, optional text",
        ),
        Text(
            "Anti-misbruik: rekenpuzzel en limieten per netwerk-pseudoniem per dag",
            "Anti-abuse: proof-of-work and limits per network pseudonym per day",
        ),
        Text(
            "Bewijscode: status bekijken of melding intrekken (verwijderen)",
            "Receipt: view status or withdraw (delete) a report",
        ),
        Text(
            "Publiceren: maand- en kwartaalkaarten bouwen en bevriezen, grootboek bijwerken",
            "Releasing: build and freeze monthly and quarterly maps, charge the ledger",
        ),
        Text(
            "Analyseren: kaarten, hotspots, trends en exports voor medewerkers",
            "Analysis: maps, hotspots, trends and exports for staff",
        ),
        jobs,
        Text(
            "Moderatie: toelichtingen en stellingen lezen, goed- of afkeuren",
            "Moderation: read descriptions and statements, accept or reject",
        ),
        Text(
            "Inwonersgesprek: deelnemen, stellingen, stemmen, chat, meningsgroepen, routering",
            "Discussion: joining, statements, votes, chat, opinion groups, routing",
        ),
        Text("Accountbeheer en auditlog voor medewerkers", "Staff account management and audit log"),
    ]
    add(*(f"- {op(t)}" for op in operations), "")

    add(_h(3, "4", "Verwerkingsdoeleinden", "Purposes"), "")
    add(
        "- "
        + Text(
            "inzicht in waar en wanneer straatintimidatie voorkomt, om gericht maatregelen te nemen en te evalueren",
            "insight into where and when street harassment happens, to target and evaluate measures",
        )(t),
        "- "
        + Text(
            "bewoners laten meepraten over maatregelen, met evenwichtige inbreng van alle meningsgroepen",
            "letting residents take part in deciding on measures, with balanced input from every opinion group",
        )(t),
        "- "
        + Text(
            "beveiliging en verantwoording: misbruik tegengaan, toegang van medewerkers vastleggen",
            "security and accountability: preventing abuse, recording staff access",
        )(t),
        "",
    )
    fill("bevestig of vul de doelen aan", "confirm or complete the purposes")

    add(_h(3, "5", "Betrokken partijen", "Parties involved"), "")
    add(
        f"- {Text('Verwerkingsverantwoordelijke(n)', 'Controller(s)')(t)}: {names}",
        f"- {Text('Betrokkenen', 'Data subjects')(t)}: "
        + Text(
            "melders (slachtoffers en getuigen), deelnemers aan gesprekken, medewerkers van de gemeente",
            "reporters (victims and witnesses), discussion participants, municipal staff",
        )(t),
        f"- {Text('Rollen van medewerkers', 'Staff roles')(t)}: "
        + Text(
            "analist (kaarten), moderator (teksten en stellingen), beheerder (accounts, auditlog)",
            "analyst (maps), moderator (texts and statements), admin (accounts, audit log)",
        )(t),
        *(
            f"- {Text('Actieve accounts', 'Active accounts')(t)} {m.slug}: "
            + (", ".join(f"{n} {role}" for role, n in sorted(m.staff.items())) or "0")
            + Text(
                f"; zonder tweede factor: {m.staff_without_second_factor}",
                f"; without a second factor: {m.staff_without_second_factor}",
            )(t)
            for m in facts.municipalities
        ),
        f"- {Text('Verwerkers', 'Processors')(t)}: "
        + (
            "; ".join(p.name for p in facts.subprocessors)
            if facts.subprocessors
            else Text("geen, volgens de configuratie (zie sub-processors.md)", "none, per the configuration")(t)
        ),
        "",
    )
    fill(
        "wie de server host en beheert, gezamenlijke verwerkingsverantwoordelijkheid bij meerdere gemeenten",
        "who hosts and operates the server, joint controllership when several municipalities share it",
    )

    add(_h(3, "6", "Belangen bij de gegevensverwerkingen", "Interests in the processing"), "")
    fill(
        "belangen van de gemeente, van melders en deelnemers, van partners; hoe zijn bewoners betrokken",
        "interests of the municipality, reporters, participants and partners; how residents were involved",
    )

    add(_h(3, "7", "Verwerkingslocaties", "Processing locations"), "")
    database = facts.published_settings.get("database_url")
    add(
        "- "
        + Text("Database: ", "Database: ")(t)
        + (
            Text(
                f"ingebouwde PostgreSQL in de datamap `{s.data_dir}` op de server zelf",
                f"embedded PostgreSQL in the data directory `{s.data_dir}` on the server itself",
            )(t)
            if s.database_url is None
            else f"PostgreSQL {database}"
        ),
        "- "
        + Text(
            "Taalmodellen: lokale bestanden op de server; er gaat geen tekst naar een andere dienst",
            "Language models: local files on the server; no text goes to any other service",
        )(t),
        "- "
        + (
            Text("Kaartondergrond: ", "Base map: ")(t) + ", ".join(p.name for p in facts.subprocessors[:1])
            if s.tile_url
            else Text(
                "Kaartondergrond: geen (geen verzoeken naar andere servers)", "Base map: none (no requests leave)"
            )(t)
        ),
        "",
    )
    fill(
        "land en datacentrum van de server en van back-ups; doorgifte buiten de EER (verwacht: geen)",
        "country and data centre of the server and backups; transfers outside the EEA (expected: none)",
    )

    add(_h(3, "8", "Technieken en methoden van de gegevensverwerkingen", "Techniques and methods"), "")
    lifetime = s.staff_epsilon_cap + s.public_epsilon_cap
    param_rows = [
        ["k", str(s.release_k), Text(f"minimaal {K_FLOOR} in de code", f"floor {K_FLOOR} in code")(t)],
        [
            Text("openbare drempel", "public threshold")(t),
            str(s.public_threshold),
            Text(f"minimaal {releases.PUBLIC_THRESHOLD_FLOOR}", f"floor {releases.PUBLIC_THRESHOLD_FLOOR}")(t),
        ],
        [Text("openbare klassen", "public bands")(t), ", ".join(public_bands(s.public_threshold)), ""],
        *[
            [f"epsilon {Text('medewerkers', 'staff')(t)}: {LAYER_NAMES[layer](t)}", number(eps, t), ""]
            for layer, eps in sorted(s.staff_epsilon.items(), key=lambda item: layer_order(item[0]))
        ],
        [
            Text("plafond medewerkers per maand", "staff cap per month")(t),
            number(s.staff_epsilon_cap, t),
            Text(f"maximaal {number(STAFF_EPSILON_CEILING, t)}", f"ceiling {STAFF_EPSILON_CEILING}")(t),
        ],
        *[
            [f"epsilon {Text('publiek', 'public')(t)}: {LAYER_NAMES[layer](t)}", number(eps, t), ""]
            for layer, eps in sorted(s.public_epsilon.items())
        ],
        [
            Text("plafond publiek per kwartaal", "public cap per quarter")(t),
            number(s.public_epsilon_cap, t),
            Text(f"maximaal {number(PUBLIC_EPSILON_CEILING, t)}", f"ceiling {PUBLIC_EPSILON_CEILING}")(t),
        ],
        [Text("epsilon per melding in totaal", "epsilon per report in all")(t), number(lifetime, t), ""],
        [Text("wachttijd na einde periode", "delay after a period closes")(t), f"{s.release_delay_days} d", ""],
        [Text("minimale meningsgroep", "minimum opinion group")(t), str(s.group_min_size), ""],
        [Text("limiet per netwerk per dag", "limit per network per day")(t), str(s.rate_limit_per_day), ""],
        [
            Text("limiet per netwerk per plek per dag", "limit per network, place and day")(t),
            str(s.rate_limit_per_cell),
            "",
        ],
        [
            Text("exacte plek van apps geaccepteerd", "exact place accepted from apps")(t),
            Text("ja", "yes")(t) if s.accept_coordinates else Text("nee", "no")(t),
            Text("alleen in geheugen omgezet", "snapped in memory only")(t) if s.accept_coordinates else "",
        ],
    ]
    add(
        table([Text("parameter", "parameter")(t), Text("waarde", "value")(t), Text("grens", "bound")(t)], param_rows),
        "",
    )
    para(
        Text(
            "Heatmaps: k-anonieme samenvoeging op de H3-hiërarchie op echte aantallen, daarna discrete "
            "Laplace-ruis (OpenDP) per laag; publicaties worden één keer gebouwd en bevroren; een grootboek per "
            "maand (medewerkers) en kwartaal (publiek) weigert overschrijding van het plafond. Hotspots: Getis-Ord "
            "Gi* op de gepubliceerde waarden, zonder extra privacybudget. Zie de Algoritmeregister-registraties.",
            "Heatmaps: k-anonymous merging on the H3 hierarchy on true counts, then discrete Laplace noise "
            "(OpenDP) per layer; releases are built once and frozen; a ledger per month (staff) and quarter "
            "(public) refuses passing the cap. Hotspots: Getis-Ord Gi* on the released values, spending no extra "
            "privacy budget. See the Algoritmeregister entries.",
        )
    )
    add(f"#### {Text('Taalmodellen', 'Language models')(t)}", "")
    add(
        table(
            [Text("controle", "check")(t), Text("gebruikt", "uses")(t)],
            [
                [Text("bijna-dubbelen en groeperen", "near-duplicates and grouping")(t), facts.models.get("nlp", "")],
                [
                    Text("toon (bedreigingen, scheldwoorden)", "toxicity (threats, slurs)")(t),
                    facts.models.get("toxicity", ""),
                ],
                [Text("namen", "names")(t), facts.models.get("names", "")],
            ],
        ),
        "",
    )
    add(f"#### {Text('Epsilon-grootboek', 'Epsilon ledger')(t)}", "")
    para(
        Text(
            "Zoals het nu in de database staat: per gemeente en emmer (maand voor medewerkers, kwartaal voor het "
            "publiek) hoeveel privacybudget een melding in die emmer heeft verbruikt, tegen het plafond.",
            "As it stands in the database: per municipality and bucket (month for staff, quarter for the public) "
            "how much privacy budget a report in that bucket has spent, against the cap.",
        )
    )
    add(*_ledger(facts, t))

    add(_h(3, "9", "Juridisch en beleidsmatig kader", "Legal and policy framework"), "")
    add(
        "- AVG / GDPR, UAVG",
        "- Archiefwet",
        "- "
        + Text(
            "AI-verordening: de chatbot moet zich als AI-systeem kenbaar maken (transparantie)",
            "AI Act: the chatbot must make itself known as an AI system (transparency)",
        )(t),
        "- VNG Principes Digitale Samenleving 2022",
        "",
    )
    fill("gemeentelijk beleid en verordeningen", "municipal policy and by-laws")

    add(_h(3, "10", "Bewaartermijnen", "Retention periods"), "")
    retention_rows = [[f"`{name}`", retention[inventory.TABLES[name].retention]] for name in tables]
    retention_rows += [
        [f"`{tbl}.{col}`", retention[own]] for (tbl, col), (_, own) in sorted(inventory.COLUMNS.items()) if own
    ]
    add(table([Text("gegevens", "data")(t), Text("bewaartermijn", "retention")(t)], retention_rows), "")
    para(
        Text(
            "Back-ups en logbestanden buiten de database vallen niet onder deze termijnen.",
            "Backups and log files outside the database are not covered by these periods.",
        )
    )
    fill("bewaartermijn van back-ups en serverlogs", "retention of backups and server logs")

    # --- B ---------------------------------------------------------------------------------------
    add(_h(2, "B", "Beoordeling rechtmatigheid gegevensverwerkingen", "Lawfulness of the processing"), "")
    add(_h(3, "11", "Rechtsgrond", "Legal basis"), "")
    para(Text("Voorstel: artikel 6 lid 1 sub e AVG.", "Suggested: Article 6(1)(e) GDPR."))
    fill("rechtsgrond per verwerking en de wettelijke taak", "legal basis per operation and the public task")
    add(_h(3, "12", "Bijzondere persoonsgegevens", "Special categories of personal data"), "")
    para(
        Text(
            "Meldingen bevatten geen bijzondere persoonsgegevens in vaste velden. Vrije tekst (toelichting, "
            "stellingen, chat) kan ze wel bevatten, bijvoorbeeld over seksuele geaardheid, afkomst of religie "
            "waar intimidatie om draait. Maatregelen: filter vóór opslag, alleen moderatoren, toelichtingen "
            f"hoogstens {TEXT_RETENTION_DAYS} dagen, nooit in kaarten of exports.",
            "Reports hold no special categories in fixed fields. Free text (descriptions, statements, chat) may, "
            "for example about sexual orientation, origin or religion that harassment targets. Measures: filtering "
            f"before storage, moderators only, descriptions at most {TEXT_RETENTION_DAYS} days, never in maps or "
            "exports.",
        )
    )
    fill("beoordeling en uitzonderingsgrond (art. 9 AVG)", "assessment and exception (Art. 9 GDPR)")
    add(_h(3, "13", "Doelbinding", "Purpose limitation"), "")
    para(
        Text(
            "Medewerkers zien alleen bevroren publicaties, nooit live zoekvragen op meldingen; vrije tekst komt nooit "
            "in publicaties of exports; meldingen en gesprekken worden niet aan elkaar gekoppeld.",
            "Staff see only frozen releases, never live queries on reports; free text never enters releases or "
            "exports; reports and discussions are not linked to each other.",
        )
    )
    fill("verenigbaarheid met andere doelen (bijv. delen met politie)", "compatibility with other purposes")
    add(_h(3, "14", "Noodzaak en evenredigheid", "Necessity and proportionality"), "")
    para(
        Text(
            "Dataminimalisatie in het ontwerp: zeshoek in plaats van plek, maand in plaats van datum, dagdeel in "
            "plaats van tijd, geen identiteit, gesloten categorieën, korte bewaartermijnen.",
            "Data minimisation by design: a hexagon instead of a place, a month instead of a date, a part of day "
            "instead of a time, no identity, closed categories, short retention.",
        )
    )
    fill("proportionaliteit en subsidiariteit", "proportionality and subsidiarity")
    add(_h(3, "15", "Rechten van de betrokkenen", "Rights of data subjects"), "")
    para(
        Text(
            "Melders: bekijken en intrekken met meldingsnummer en bewijscode (art. 11 AVG: zonder die code kan de "
            "gemeente niemand identificeren). Deelnemers: zelf alles wissen in het gesprek. Medewerkers: inzage via "
            "de beheerder.",
            "Reporters: view and withdraw with the report number and receipt (Art. 11 GDPR: without the receipt "
            "the municipality can identify nobody). Participants: erase everything themselves. Staff: access via "
            "the admin.",
        )
    )
    fill("procedure voor verzoeken en klachten", "procedure for requests and complaints")

    # --- C ---------------------------------------------------------------------------------------
    add(_h(2, "C", "Beschrijving en beoordeling risico's voor de betrokkenen", "Risks to data subjects"), "")
    add(_h(3, "16", "Risico's", "Risks"), "")
    without_totp = sum(m.staff_without_second_factor for m in facts.municipalities)
    risks = [
        (
            Text("Melder herkend uit kaarten (kleine aantallen)", "Reporter recognised from maps (small counts)"),
            Text(
                f"k = {s.release_k}, ruis, grootboek, openbare drempel {s.public_threshold}",
                f"k = {s.release_k}, noise, ledger, public threshold {s.public_threshold}",
            ),
        ),
        (
            Text("Overzichten van elkaar aftrekken", "Subtracting views from each other"),
            Text(
                "ruis per laag, bevroren publicaties, geen vrije periodes",
                "noise per layer, frozen releases, no arbitrary periods",
            ),
        ),
        (
            Text("Herkenbare details in vrije tekst", "Identifying details in free text"),
            Text(
                f"filter, alleen moderatoren, {TEXT_RETENTION_DAYS} dagen",
                f"filter, moderators only, {TEXT_RETENTION_DAYS} days",
            ),
        ),
        (
            Text(
                "Volgorde van binnenkomst zichtbaar in een databasedump", "Order of arrival visible in a database dump"
            ),
            Text("ruwe rijen gewist na publicatie; restrisico", "raw rows deleted after release; residual risk"),
        ),
        (
            Text("Gewiste gegevens blijven in back-ups", "Deleted data remains in backups"),
            Text("niet door de software", "not by the software"),
        ),
        (
            Text("Misbruik door medewerkers", "Misuse by staff"),
            Text(
                "rollen, toegang per gemeente, tweede factor (TOTP, optioneel: nu "
                f"{without_totp} actieve accounts zonder), blokkade na mislukte logins, auditlog",
                "roles, per-municipality access, second factor (TOTP, optional: now "
                f"{without_totp} active accounts without), lockout after failed logins, audit log",
            ),
        ),
        (
            Text(
                "Deelnemer herkend aan stellingen of kleine groep",
                "Participant recognised from statements or a small group",
            ),
            Text(
                f"filter, moderatie, groepen < {s.group_min_size} nooit getoond",
                f"filter, moderation, groups < {s.group_min_size} never shown",
            ),
        ),
        (
            Text("Onterechte beslissing van de toon-controle", "Wrong decision by the toxicity check"),
            Text("alleen bedreigingen geweigerd, twijfel naar moderator", "only threats refused, doubt to a moderator"),
        ),
    ]
    if s.tile_url:
        risks.append(
            (
                Text("Kaartdienst ziet IP-adres en bekeken gebied", "Tile server sees IP address and area viewed"),
                Text("alleen als ondergrond ingesteld; verwerker", "only when a base map is set; processor"),
            )
        )
    if s.actions_discussion:
        risks.append(
            (
                Text("Rasa tracker store bewaart ruwe chatberichten", "Rasa tracker store keeps raw chat messages"),
                Text("lokaal draaien, eigen bewaartermijn", "run locally, own retention"),
            )
        )
    likelihood = todo(Text("kans", "likelihood"), t)
    impact = todo(Text("impact", "impact"), t)
    add(
        table(
            [
                Text("risico", "risk")(t),
                Text("maatregel in de software", "measure in the software")(t),
                Text("kans", "likelihood")(t),
                Text("impact", "impact")(t),
            ],
            [[risk(t), measure(t), likelihood, impact] for risk, measure in risks],
        ),
        "",
    )
    fill("overige risico's", "other risks")

    # --- D ---------------------------------------------------------------------------------------
    add(_h(2, "D", "Beschrijving maatregelen", "Measures"), "")
    add(_h(3, "17", "Maatregelen", "Measures"), "")
    measures = [
        Text(
            "geen IP-adressen, user agents, coördinaten of tijdstempels in de database (getest)",
            "no IP addresses, user agents, coordinates or timestamps in the database (tested)",
        ),
        Text(
            "logs met een lijst van toegestane velden, IP-achtige tekst weggelaten",
            "logs through an allow-list of fields, IP-like text redacted",
        ),
        Text(
            "bewijscodes als HMAC, wachtwoorden met argon2id, tokens als SHA-256",
            "receipts as HMAC, passwords with argon2id, tokens as SHA-256",
        ),
        Text(
            "publicaties en grootboek onveranderbaar (databasetriggers)",
            "releases and ledger immutable (database triggers)",
        ),
        Text("auditlog alleen toevoegen", "append-only audit log"),
        Text(
            "pagina's laden niets van derden (Content-Security-Policy)",
            "pages load nothing from third parties (Content-Security-Policy)",
        ),
        Text("taalmodellen offline, nooit gedownload", "language models offline, never downloaded"),
    ]
    add(*(f"- {m(t)}" for m in measures), "")
    fill(
        "organisatorische maatregelen: toegang tot server en database, back-ups en versleuteling, datalekprocedure, "
        "periodieke herbeoordeling",
        "organisational measures: access to server and database, backups and encryption, breach procedure, "
        "periodic review",
    )
    add(_h(2, "", "Vaststelling", "Sign-off"), "")
    fill("advies FG, besluit, datum, handtekening", "DPO advice, decision, date, signature")
    return "\n".join(out)
