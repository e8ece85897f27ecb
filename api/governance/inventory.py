"""The data inventory of the DPIA: every table and column of the live schema, annotated here.

The schema is read from information_schema at generation time, never listed by hand, so the
inventory is the database as it is. What the schema cannot say (why a column exists, whose data
it is, how long it lives) is written below, once per table and once per column. A column the
schema has and this file does not annotate stops the generation with an error naming it: a new
migration cannot add a column that the DPIA silently leaves out. Retention texts are built from
the settings and the code's own constants, so they change when the configuration does.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from aggregation.retention import RAW_HORIZON_FLOOR_DAYS, TEXT_RETENTION_DAYS
from api.governance.texts import GovernanceError, Language, Text, todo
from api.settings import Settings
from api.staff.service import FORGET_SECONDS


class InventoryError(GovernanceError):
    """The live schema and the annotations below disagree; the message names the column."""


@dataclass(frozen=True)
class Column:
    table: str
    name: str
    data_type: str
    nullable: bool


@dataclass(frozen=True)
class TableNote:
    purpose: Text
    data: Text  # whose data, and whether it is personal data
    retention: str  # a key of `retention_rules`


COLUMNS_SQL = """
select c.table_name, c.column_name, c.data_type, c.udt_name, c.is_nullable
  from information_schema.columns c
  join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
 where c.table_schema = current_schema() and t.table_type = 'BASE TABLE'
 order by c.table_name, c.ordinal_position
"""

NONE = Text("geen persoonsgegevens", "no personal data")
REPORTS = Text(
    "gegevens over een melding; niet herleidbaar tot de melder (geen naam, adres, tijdstip of IP-adres)",
    "data about a report; not traceable to the reporter (no name, address, time or IP address)",
)
FREE_TEXT = Text(
    "vrije tekst van de melder, na verwijdering van herkende persoonsgegevens; kan toch iets herkenbaars "
    "bevatten (daarom alleen voor moderatoren en kort bewaard)",
    "the reporter's free text, after recognised personal data was removed; may still hold something "
    "identifying (hence moderators only and kept briefly)",
)
NETWORK = Text(
    "pseudoniemen van netwerkadressen (HMAC met een dagsleutel); na de dag niet meer te koppelen",
    "pseudonyms of network addresses (HMAC under a daily key); unlinkable once the day is over",
)
STAFF = Text("persoonsgegevens van medewerkers van de gemeente", "personal data of municipal staff")
PARTICIPANTS = Text(
    "bijdragen van anonieme deelnemers aan een gesprek (willekeurig nummer, geen account)",
    "contributions of anonymous discussion participants (random number, no account)",
)
GROUPS = Text(
    "alleen totalen per meningsgroep; groepen onder de minimumgrootte worden nooit getoond",
    "only totals per opinion group; groups below the minimum size are never shown",
)
AGGREGATES = Text(
    "alleen samengetelde, k-anonieme en differentieel private aantallen", "aggregated, k-anonymous, DP counts only"
)

TABLES: dict[str, TableNote] = {
    "municipality": TableNote(Text("bediende gemeenten", "municipalities served"), NONE, "config"),
    "coverage": TableNote(
        Text("welke res-9-zeshoek bij welke gemeente hoort", "which res-9 hexagon belongs to which municipality"),
        NONE,
        "config",
    ),
    "report": TableNote(Text("de meldingen zelf (ruwe rijen)", "the reports themselves (raw rows)"), REPORTS, "raw"),
    "report_text": TableNote(
        Text(
            "optionele toelichting bij een melding, voor moderatoren",
            "optional description of a report, for moderators",
        ),
        FREE_TEXT,
        "text",
    ),
    "withdrawn_submission": TableNote(
        Text(
            "inzendingsnummers van ingetrokken meldingen, zodat een late herhaling ze niet terugbrengt",
            "submission ids of withdrawn reports, so a late retry cannot bring them back",
        ),
        REPORTS,
        "submission",
    ),
    "pow_spent": TableNote(
        Text("gebruikte anti-spamopgaven (tegen hergebruik)", "spent anti-spam challenges (against replay)"),
        NONE,
        "pow",
    ),
    "rate_key": TableNote(
        Text("de willekeurige sleutel van de dag voor de limieten", "the day's random key for the rate limits"),
        NONE,
        "rate",
    ),
    "rate_counter": TableNote(
        Text(
            "tellers per netwerk-pseudoniem (en per zeshoek) per dag",
            "counters per network pseudonym (and cell) per day",
        ),
        NETWORK,
        "rate",
    ),
    "staff": TableNote(Text("accounts van medewerkers", "staff accounts"), STAFF, "staff"),
    "staff_session": TableNote(Text("ingelogde sessies van medewerkers", "staff login sessions"), STAFF, "session"),
    "staff_login_failure": TableNote(
        Text("mislukte inlogpogingen (tegen raden van wachtwoorden)", "failed logins (against password guessing)"),
        STAFF,
        "login_failure",
    ),
    "staff_audit": TableNote(
        Text(
            "auditlog: wie wat deed, voor welke gemeente en periode", "audit log: who did what, where, for which period"
        ),
        STAFF,
        "audit",
    ),
    "release": TableNote(
        Text(
            "bevroren publicaties (heatmaps) per maand en kwartaal", "frozen releases (heatmaps) per month and quarter"
        ),
        AGGREGATES,
        "release",
    ),
    "epsilon_ledger": TableNote(
        Text("het privacybudget (epsilon) dat elke publicatie verbruikte", "the privacy budget each release spent"),
        NONE,
        "release",
    ),
    "discussion": TableNote(
        Text("gesprekken (vraag en regels)", "discussions (question and rules)"), NONE, "discussion"
    ),
    "participant": TableNote(
        Text("anonieme deelnemers aan een gesprek", "anonymous participants"), PARTICIPANTS, "participant"
    ),
    "statement": TableNote(
        Text("stellingen in een gesprek", "statements in a discussion"), PARTICIPANTS, "participant"
    ),
    "statement_flag": TableNote(
        Text("meldingen van deelnemers over een stelling", "participants' flags on a statement"),
        PARTICIPANTS,
        "participant",
    ),
    "vote": TableNote(Text("stemmen op stellingen", "votes on statements"), PARTICIPANTS, "participant"),
    "shown": TableNote(
        Text("welke stellingen een deelnemer al zag", "which statements a participant has seen"),
        PARTICIPANTS,
        "participant",
    ),
    "opinion_snapshot": TableNote(
        Text(
            "de laatste berekening van meningsgroepen (alleen totalen)",
            "the latest opinion-group computation (aggregates)",
        ),
        GROUPS,
        "discussion",
    ),
    "opinion_member": TableNote(
        Text("in welke meningsgroep een deelnemer valt", "which opinion group a participant is in"),
        PARTICIPANTS,
        "participant",
    ),
    "chat_state": TableNote(
        Text("de stand van het chatgesprek van een deelnemer", "a participant's chat state"),
        PARTICIPANTS,
        "participant",
    ),
    "schema_migration": TableNote(
        Text("welke databasemigraties zijn toegepast", "which database migrations were applied"), NONE, "schema"
    ),
}

T = Text
# Every column of every table: its purpose, and optionally a retention rule of its own where it
# is deleted before its row is.
COLUMNS: dict[tuple[str, str], tuple[Text, str | None]] = {
    ("municipality", "slug"): (T("korte naam in adressen", "short name used in URLs"), None),
    ("municipality", "name"): (T("naam van de gemeente", "name of the municipality"), None),
    ("coverage", "cell"): (T("H3-zeshoek (resolutie 9)", "H3 cell (resolution 9)"), None),
    ("coverage", "municipality"): (T("gemeente van de zeshoek", "the cell's municipality"), None),
    ("report", "municipality"): (T("gemeente", "municipality"), None),
    ("report", "id"): (T("willekeurig meldingsnummer (UUIDv4)", "random report id (UUIDv4)"), None),
    ("report", "cell"): (T("zeshoek van ongeveer 0,1 km²", "hexagon of about 0.1 km²"), None),
    ("report", "month"): (T("maand van ontvangst", "month of receipt"), None),
    ("report", "band"): (T("dagdeel (door de melder gekozen)", "part of the day (chosen by the reporter)"), None),
    ("report", "category"): (T("wat er gebeurde (vaste lijst)", "what happened (closed list)"), None),
    ("report", "role"): (T("slachtoffer of getuige", "victim or witness"), None),
    ("report", "felt_safety"): (T("gevoel van veiligheid 1-5 (optioneel)", "felt safety 1-5 (optional)"), None),
    ("report", "language"): (T("taal van de melding", "language of the report"), None),
    ("report", "submission_id"): (
        T(
            "willekeurig inzendingsnummer: een herhaalde inzending maakt geen tweede melding",
            "random submission id: a retry never makes a second report",
        ),
        "submission",
    ),
    ("report", "submission_mac"): (
        T(
            "sleutel-hash van de inzending, om een herhaling te herkennen",
            "keyed hash of the submission, to recognise a retry",
        ),
        "submission",
    ),
    ("report", "receipt_hash"): (
        T(
            "sleutel-hash (HMAC) van de bewijscode; de code zelf wordt nooit bewaard",
            "keyed hash (HMAC) of the receipt; the receipt itself is never stored",
        ),
        None,
    ),
    ("report_text", "municipality"): (T("gemeente", "municipality"), None),
    ("report_text", "report_id"): (T("bijbehorende melding", "the report it belongs to"), None),
    ("report_text", "month"): (T("maand (voor de bewaartermijn)", "month (for the retention period)"), None),
    ("report_text", "language"): (T("taal", "language"), None),
    ("report_text", "body"): (
        T("de toelichting, zonder herkende persoonsgegevens", "the description, recognised personal data removed"),
        None,
    ),
    ("report_text", "pii_removed"): (
        T("welke soorten persoonsgegevens zijn weggehaald", "which kinds of personal data were removed"),
        None,
    ),
    ("withdrawn_submission", "submission_id"): (
        T("inzendingsnummer van een ingetrokken melding", "submission id of a withdrawn report"),
        None,
    ),
    ("withdrawn_submission", "month"): (T("maand (voor de bewaartermijn)", "month (for the retention period)"), None),
    ("pow_spent", "replay_key"): (
        T("sleutel-hash van een gebruikte opgave", "keyed digest of a spent challenge"),
        None,
    ),
    ("pow_spent", "expires_hour"): (
        T("uur waarna de opgave toch verlopen is", "hour after which the challenge expired anyway"),
        None,
    ),
    ("rate_key", "day"): (T("dag van de sleutel", "the key's day"), None),
    ("rate_key", "key"): (T("willekeurige sleutel van de dag", "random key of the day"), None),
    ("rate_counter", "day"): (T("dag van de teller", "the counter's day"), None),
    ("rate_counter", "token"): (
        T("HMAC(dagsleutel, netwerkadres[, zeshoek])", "HMAC(daily key, network prefix[, cell])"),
        None,
    ),
    ("rate_counter", "count"): (T("aantal meldingen die dag", "reports that day"), None),
    ("staff", "id"): (T("willekeurig accountnummer", "random account id"), None),
    ("staff", "email"): (T("e-mailadres (inlognaam)", "e-mail address (login name)"), None),
    ("staff", "municipality"): (T("gemeente van de medewerker", "the staff member's municipality"), None),
    ("staff", "role"): (T("rol: analist, moderator of beheerder", "role: analyst, moderator or admin"), None),
    ("staff", "password_hash"): (T("argon2id-hash van het wachtwoord", "argon2id hash of the password"), None),
    ("staff", "totp_sealed"): (
        T("versleuteld TOTP-geheim (tweede factor)", "encrypted TOTP secret (second factor)"),
        None,
    ),
    ("staff", "totp_last_step"): (
        T("laatst gebruikte TOTP-stap (tegen hergebruik)", "last accepted TOTP step (against replay)"),
        None,
    ),
    ("staff", "disabled"): (T("account uitgeschakeld", "account disabled"), None),
    ("staff_session", "token_hash"): (T("SHA-256 van het sessietoken", "SHA-256 of the session token"), None),
    ("staff_session", "staff_id"): (T("account van de sessie", "the session's account"), None),
    ("staff_session", "expires_at"): (T("einde van de sessie", "end of the session"), None),
    ("staff_login_failure", "email_key"): (
        T("HMAC van het e-mailadres (niet het adres zelf)", "HMAC of the e-mail (not the e-mail)"),
        None,
    ),
    ("staff_login_failure", "failures"): (T("aantal mislukte pogingen op rij", "consecutive failures"), None),
    ("staff_login_failure", "last_failure_at"): (
        T("tijd van de laatste mislukte poging", "time of the last failure"),
        None,
    ),
    ("staff_login_failure", "locked_until"): (T("geblokkeerd tot", "locked until"), None),
    ("staff_audit", "id"): (T("volgnummer van de regel", "sequence number of the entry"), None),
    ("staff_audit", "at"): (T("tijdstip van de handeling", "time of the action"), None),
    ("staff_audit", "staff_id"): (T("account (leeg voor de beheeropdracht)", "account (empty for the CLI)"), None),
    ("staff_audit", "staff_email"): (
        T("e-mailadres van de medewerker (blijft na verwijderen account)", "staff e-mail (outlives the account)"),
        None,
    ),
    ("staff_audit", "staff_municipality"): (T("gemeente van de medewerker", "the staff member's municipality"), None),
    ("staff_audit", "action"): (T("wat er gebeurde (code)", "what happened (code)"), None),
    ("staff_audit", "municipality"): (T("gemeente waarop de handeling betrekking had", "municipality acted on"), None),
    ("staff_audit", "period"): (T("periode die werd bekeken", "period viewed"), None),
    ("staff_audit", "detail"): (
        T(
            "korte toelichting; nooit meldingstekst, tokens of wachtwoorden",
            "short detail; never report text, tokens or passwords",
        ),
        None,
    ),
    ("release", "municipality"): (T("gemeente", "municipality"), None),
    ("release", "audience"): (T("medewerkers of publiek", "staff or public"), None),
    ("release", "period"): (T("maand of kwartaal", "month or quarter"), None),
    ("release", "k"): (T("de k waarmee gebouwd is", "the k it was built with"), None),
    ("release", "body"): (T("de publicatie zelf (zoals geserveerd)", "the release itself (as served)"), None),
    ("epsilon_ledger", "municipality"): (T("gemeente", "municipality"), None),
    ("epsilon_ledger", "audience"): (T("medewerkers of publiek", "staff or public"), None),
    ("epsilon_ledger", "period"): (T("maand of kwartaal (de emmer)", "month or quarter (the bucket)"), None),
    ("epsilon_ledger", "layer"): (T("laag (totaal, categorie, ...)", "layer (total, category, ...)"), None),
    ("epsilon_ledger", "epsilon"): (T("verbruikte epsilon", "epsilon spent"), None),
    ("epsilon_ledger", "cap"): (T("plafond van de emmer", "the bucket's cap"), None),
    ("discussion", "id"): (T("willekeurig gespreksnummer", "random discussion id"), None),
    ("discussion", "municipality"): (T("gemeente", "municipality"), None),
    ("discussion", "question"): (T("de vraag van het gesprek", "the discussion's question"), None),
    ("discussion", "description"): (T("toelichting", "description"), None),
    ("discussion", "languages"): (T("talen", "languages"), None),
    ("discussion", "area"): (T("optioneel gebied (res-7-zeshoeken)", "optional area (res-7 cells)"), None),
    ("discussion", "moderation"): (T("vooraf of achteraf modereren", "pre- or post-moderation"), None),
    ("discussion", "warning_terms"): (
        T("woorden die een inhoudswaarschuwing geven", "terms that trigger a content warning"),
        None,
    ),
    ("discussion", "state"): (T("concept, open, gepauzeerd of gesloten", "draft, open, paused or closed"), None),
    ("discussion", "seed"): (
        T("startwaarde: dezelfde stemmen geven dezelfde groepen", "seed: equal votes give equal groups"),
        None,
    ),
    ("discussion", "next_statement"): (T("volgend stellingnummer", "next statement number"), None),
    ("participant", "discussion"): (T("gesprek", "discussion"), None),
    ("participant", "id"): (T("willekeurig nummer binnen het gesprek", "random number within the discussion"), None),
    ("participant", "token_hash"): (T("SHA-256 van het deelnemerstoken", "SHA-256 of the participant token"), None),
    ("participant", "skip_sensitive"): (
        T("wil gevoelige stellingen overslaan", "wants to skip sensitive statements"),
        None,
    ),
    ("participant", "prompts"): (T("stellingen getoond in deze sessie", "statements shown this session"), None),
    ("participant", "external_ref"): (T("nummer uit een Polis-import", "id from a Polis import"), None),
    ("statement", "discussion"): (T("gesprek", "discussion"), None),
    ("statement", "id"): (T("stellingnummer", "statement number"), None),
    ("statement", "author"): (
        T("deelnemer die hem schreef (leeg voor startstellingen)", "participant who wrote it (empty for seeds)"),
        None,
    ),
    ("statement", "body"): (
        T("de stelling, zonder herkende persoonsgegevens", "the statement, recognised personal data removed"),
        None,
    ),
    ("statement", "normalised"): (
        T("genormaliseerde tekst voor dubbelcontrole", "normalised text for the duplicate check"),
        None,
    ),
    ("statement", "embedding"): (
        T("zinsvector voor bijna-dubbelen (lokaal model)", "sentence vector for near-duplicates (local model)"),
        None,
    ),
    ("statement", "embedding_model"): (T("naam van dat model", "name of that model"), None),
    ("statement", "language"): (T("taal", "language"), None),
    ("statement", "state"): (T("wacht, geaccepteerd of afgewezen", "pending, accepted or rejected"), None),
    ("statement", "reject_reason"): (T("reden van afwijzing (code)", "reason for rejection (code)"), None),
    ("statement", "sensitive"): (T("krijgt een inhoudswaarschuwing", "carries a content warning"), None),
    ("statement", "flags"): (T("aantal meldingen door deelnemers", "number of participant flags"), None),
    ("statement", "is_seed"): (T("startstelling van moderatoren", "seed statement by moderators"), None),
    ("statement", "external_ref"): (T("nummer uit een Polis-import", "id from a Polis import"), None),
    ("statement", "held"): (
        T("wacht op een moderator (toon of persoonsgegevens)", "held for a moderator (toxicity or personal data)"),
        None,
    ),
    ("statement_flag", "discussion"): (T("gesprek", "discussion"), None),
    ("statement_flag", "statement"): (T("stelling", "statement"), None),
    ("statement_flag", "participant"): (T("deelnemer die meldde", "flagging participant"), None),
    ("statement_flag", "reason"): (T("reden (code)", "reason (code)"), None),
    ("vote", "discussion"): (T("gesprek", "discussion"), None),
    ("vote", "participant"): (T("deelnemer", "participant"), None),
    ("vote", "statement"): (T("stelling", "statement"), None),
    ("vote", "value"): (T("eens (1), oneens (-1), overslaan (0)", "agree (1), disagree (-1), pass (0)"), None),
    ("shown", "discussion"): (T("gesprek", "discussion"), None),
    ("shown", "participant"): (T("deelnemer", "participant"), None),
    ("shown", "statement"): (T("getoonde stelling", "statement shown"), None),
    ("opinion_snapshot", "discussion"): (T("gesprek", "discussion"), None),
    ("opinion_snapshot", "version"): (T("versie van de berekening", "version of the computation"), None),
    ("opinion_snapshot", "votes"): (T("aantal stemmen meegeteld", "votes counted"), None),
    ("opinion_snapshot", "statements"): (T("aantal stellingen meegeteld", "statements counted"), None),
    ("opinion_snapshot", "result"): (
        T(
            "groepen, representatieve stellingen, consensus (totalen)",
            "groups, representative statements, consensus (aggregates)",
        ),
        None,
    ),
    ("opinion_member", "discussion"): (T("gesprek", "discussion"), None),
    ("opinion_member", "participant"): (T("deelnemer", "participant"), None),
    ("opinion_member", "group_id"): (T("meningsgroep", "opinion group"), None),
    ("chat_state", "discussion"): (T("gesprek", "discussion"), None),
    ("chat_state", "participant"): (T("deelnemer", "participant"), None),
    ("chat_state", "state"): (
        T(
            "stand van de chat: eigen woorden (ook een optionele, nooit gepubliceerde ervaring), "
            "zonder herkende persoonsgegevens",
            "chat state: the participant's own words (also an optional, never published experience), "
            "personal data removed",
        ),
        None,
    ),
    ("schema_migration", "version"): (T("migratienummer", "migration number"), None),
    ("schema_migration", "name"): (T("bestandsnaam", "file name"), None),
    ("schema_migration", "checksum"): (T("controlegetal van het bestand", "checksum of the file"), None),
}


def retention_rules(settings: Settings, language: Language) -> dict[str, str]:
    """How long each kind of row lives, from the settings and the retention code's constants."""
    hours = FORGET_SECONDS // 3600
    rules = {
        "config": Text(
            "zolang de gemeente wordt bediend (de beheerder verwijdert haar)",
            "as long as the municipality is served (removed by the operator)",
        ),
        "raw": Text(
            "gewist zodra de medewerkerspublicatie van de maand én de publieke publicatie van het kwartaal bevroren "
            f"zijn, en uiterlijk {settings.raw_horizon_days} dagen na de eerste dag van de maand "
            f"(instelling STRAATSTEM_RAW_HORIZON_DAYS, minimaal {RAW_HORIZON_FLOOR_DAYS})",
            "deleted once the staff release of its month and the public release of its quarter are frozen, and "
            f"at the latest {settings.raw_horizon_days} days after the first day of its month "
            f"(setting STRAATSTEM_RAW_HORIZON_DAYS, floor {RAW_HORIZON_FLOOR_DAYS})",
        ),
        "text": Text(
            f"gewist {TEXT_RETENTION_DAYS} dagen na de eerste dag van de maand van ontvangst "
            f"(dus hoogstens {TEXT_RETENTION_DAYS} dagen na ontvangst), of eerder met de melding",
            f"deleted {TEXT_RETENTION_DAYS} days after the first day of the month of receipt "
            f"(so at most {TEXT_RETENTION_DAYS} days after receipt), or earlier with its report",
        ),
        "submission": Text(
            "gewist op de eerste dag van de tweede maand na ontvangst (hoogstens 62 dagen), lang genoeg voor "
            "een offline wachtrij om opnieuw te proberen",
            "cleared on the first day of the second month after receipt (at most 62 days), long enough for an "
            "offline queue to retry",
        ),
        "pow": Text(
            f"gewist na het uur waarin de opgave verliep (een opgave leeft {settings.pow_ttl_seconds} seconden)",
            "deleted after the hour in which its challenge expired "
            f"(challenges live {settings.pow_ttl_seconds} seconds)",
        ),
        "rate": Text(
            "gewist bij het eerste verzoek van de volgende dag en door de opruimtaak; daarna is een pseudoniem "
            "niet meer aan een adres te koppelen",
            "deleted at the first request of the next day and by the retention job; after that a pseudonym "
            "cannot be linked to an address",
        ),
        "staff": Text(
            "zolang het account bestaat; uitgeschakelde accounts blijven staan ",
            "as long as the account exists; disabled accounts are kept ",
        ),
        "session": Text(
            f"verloopt na {settings.session_hours} uur (STRAATSTEM_SESSION_HOURS); verlopen sessies worden bij een "
            "volgende login gewist, alle sessies van een account bij uitschakelen",
            f"expires after {settings.session_hours} hours (STRAATSTEM_SESSION_HOURS); expired sessions are deleted "
            "at a later login, all sessions of an account when it is disabled",
        ),
        "login_failure": Text(
            f"vergeten {hours} uur na de laatste mislukte poging als er geen blokkade meer geldt",
            f"forgotten {hours} hours after the last failure once no lock is in force",
        ),
        "audit": Text(
            "alleen toevoegen, nooit wijzigen; geen einddatum in de software ",
            "append-only; no end date in the software ",
        ),
        "release": Text(
            "blijft bewaard (bevroren); bevat alleen samengetelde aantallen met ruis en mag openbaar",
            "kept (frozen); holds only aggregated noisy counts and may be published",
        ),
        "discussion": Text("zolang het gesprek bestaat ", "as long as the discussion exists "),
        "participant": Text(
            "tot de deelnemer zijn gegevens wist (kan altijd zelf) of het gesprek wordt verwijderd",
            "until the participant erases their data (always possible themselves) or the discussion is deleted",
        ),
        "schema": Text("zolang de installatie bestaat", "as long as the installation exists"),
    }
    result = {key: text(language) for key, text in rules.items()}
    result["staff"] += todo(
        Text("bewaartermijn van uitgeschakelde accounts", "retention of disabled accounts"), language
    )
    result["audit"] += todo(
        Text("bewaartermijn volgens de Archiefwet / selectielijst", "retention period under the Archives Act"), language
    )
    result["discussion"] += todo(
        Text("wanneer gesloten gesprekken worden verwijderd", "when closed discussions are deleted"), language
    )
    return result


def _type(data_type: str, udt_name: str) -> str:
    return f"{udt_name.lstrip('_')}[]" if data_type == "ARRAY" else data_type


async def live_columns(conn: asyncpg.Connection) -> list[Column]:
    return [
        Column(r["table_name"], r["column_name"], _type(r["data_type"], r["udt_name"]), r["is_nullable"] == "YES")
        for r in await conn.fetch(COLUMNS_SQL)
    ]


def check_annotated(columns: list[Column]) -> None:
    """Every live table and column has its annotation; InventoryError names the first that lacks one."""
    for column in columns:
        if column.table not in TABLES:
            raise InventoryError(
                f"table {column.table} has no purpose/retention annotation in api/governance/inventory.py (TABLES); "
                "add one before generating the governance documents"
            )
        if (column.table, column.name) not in COLUMNS:
            raise InventoryError(
                f"column {column.table}.{column.name} has no purpose annotation in api/governance/inventory.py "
                "(COLUMNS); add one before generating the governance documents"
            )
