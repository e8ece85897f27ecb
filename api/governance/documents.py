"""Builds every governance document in memory, checks it for secrets, and writes it (see the
package docstring for what is written)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg

from api.governance import dpia, notice, register
from api.governance.facts import Facts, collect
from api.governance.texts import LANGUAGES, GovernanceError, Language, Text, count_placeholders, table, todo
from api.settings import Settings

_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_HTTPS = re.compile(r"^https://[^\s/]+\.[^\s]+$")


@dataclass(frozen=True)
class Options:
    output: Path
    municipality: str | None = None
    language: Language = "nl"
    contact: str | None = None


def check_contact(contact: str | None) -> str | None:
    if contact is None:
        return None
    contact = contact.strip()
    if len(contact) > 500 or not (_EMAIL.match(contact) or _HTTPS.match(contact)):
        raise GovernanceError("--contact must be an e-mail address or an https:// address")
    return contact


def prepare_output(output: Path) -> None:
    """Create the output folder (or find it writable) before any work is done."""
    try:
        if output.exists() and not output.is_dir():
            raise GovernanceError(f"--output {output} is a file; give a folder")
        output.mkdir(parents=True, exist_ok=True)
        probe = output / ".straatstem-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise GovernanceError(
            f"cannot write to --output {output} ({exc.strerror or exc.__class__.__name__}); choose another folder"
        ) from None


def _subprocessors_md(facts: Facts, t: Language) -> str:
    lines = [
        f"# {Text('Verwerkers', 'Sub-processors')(t)}",
        "",
        Text(
            f"Gemaakt op {facts.generated_on.isoformat()} uit de configuratie (vingerafdruk "
            f"`{facts.fingerprint[:16]}`): de partijen die door de instellingen van deze installatie gegevens "
            "ontvangen.",
            f"Generated on {facts.generated_on.isoformat()} from the configuration (fingerprint "
            f"`{facts.fingerprint[:16]}`): the parties that receive data because of this installation's settings.",
        )(t),
        "",
    ]
    if facts.subprocessors:
        rows = [[p.name, p.role(t), p.sees(t), todo(p.to_fill, t)] for p in facts.subprocessors]
        header = [
            Text("partij", "party")(t),
            Text("rol", "role")(t),
            Text("ziet", "sees")(t),
            Text("in te vullen", "to fill in")(t),
        ]
        lines += [table(header, rows), ""]
    else:
        lines += [
            Text(
                "Geen. Er is geen kaartondergrond ingesteld (STRAATSTEM_TILE_URL), de database draait op deze "
                "machine, er staat geen proxy ingesteld (STRAATSTEM_TRUSTED_PROXIES) en geen andere website mag de "
                "API aanroepen (STRAATSTEM_CORS_ORIGINS): geen andere partij ontvangt gegevens van bezoekers of uit "
                "de database.",
                "None. No base map is configured (STRAATSTEM_TILE_URL), the database runs on this machine, no proxy "
                "is configured (STRAATSTEM_TRUSTED_PROXIES) and no other website may call the API "
                "(STRAATSTEM_CORS_ORIGINS): no other party receives visitors' data or data from the database.",
            )(t),
            "",
        ]
    lines += [
        todo(
            Text(
                "draait de server bij een hostingpartij? Die is dan ook een verwerker",
                "does the server run at a hosting provider? Then that provider is a processor too",
            ),
            t,
        ),
        "",
        f"## {Text('Geen verwerkers', 'Not sub-processors')(t)}",
        "",
        Text(
            "De taalmodellen zijn lokale bestanden die in het serverproces draaien; er gaat geen tekst naar een "
            "andere dienst en er wordt niets gedownload:",
            "The language models are local files that run inside the server process; no text goes to another "
            "service and nothing is downloaded:",
        )(t),
        "",
        *(f"- {check}: {use}" for check, use in sorted(facts.models.items())),
        "",
    ]
    return "\n".join(lines)


def _subprocessors_json(facts: Facts) -> dict[str, object]:
    return {
        "generated_on": facts.generated_on.isoformat(),
        "settings_fingerprint": facts.fingerprint,
        "subprocessors": [
            {"name": p.name, "role": p.role._asdict(), "sees": p.sees._asdict()} for p in facts.subprocessors
        ],
        "local_language_models": dict(sorted(facts.models.items())),
    }


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2) + "\n"


def build(facts: Facts, options: Options) -> dict[str, str]:
    """Every document by its path relative to the output folder, manifest last."""
    documents: dict[str, str] = {}
    for municipality in facts.municipalities:
        for kind, make in (("heatmap", register.heatmap_entry), ("chatbot", register.chatbot_entry)):
            entry = make(facts, municipality, options.contact)
            base = f"algoritmeregister/{municipality.slug}/{kind}"
            documents[f"{base}.json"] = _json(register.as_json(entry))
            documents[f"{base}.md"] = register.as_markdown(entry, Text(kind, kind), municipality, options.language)
    documents["dpia.md"] = dpia.render(facts, options.language)
    for language in LANGUAGES:
        documents[f"privacy-notice.{language}.md"] = notice.render(facts, language)
    documents["sub-processors.md"] = _subprocessors_md(facts, options.language)
    documents["sub-processors.json"] = _json(_subprocessors_json(facts))
    manifest = {
        "generator": "straatstem governance",
        "version": facts.version,
        "generated_on": facts.generated_on.isoformat(),
        "settings_fingerprint": facts.fingerprint,
        "fingerprint_method": "SHA-256 of `settings` as JSON with sorted keys and no whitespace; secrets excluded",
        "settings": facts.published_settings,
        "schema_migrations": facts.migrations,
        "municipalities": [m.slug for m in facts.municipalities],
        "language": options.language,
        "standards": {
            "algoritmeregister": f"Algoritmeregister Publicatiestandaard {register.STANDARD_VERSION}",
            "dpia": "Model DPIA Rijksdienst (17 punten, delen A-D)",
        },
        "files": [
            {
                "path": path,
                "sha256": hashlib.sha256(text.encode()).hexdigest(),
                "placeholders": count_placeholders(text),
            }
            for path, text in sorted(documents.items())
        ],
    }
    documents["manifest.json"] = _json(manifest)
    return documents


def _secrets(settings: Settings) -> list[str]:
    found = [settings.secret_key.hex()] if settings.secret_key else []
    if settings.database_url:
        parts = urlsplit(settings.database_url)
        found += [p for p in (parts.password, *parse_qs(parts.query).get("password", [])) if p]
    return [secret for secret in found if len(secret) >= 4]


def check_no_secrets(documents: dict[str, str], settings: Settings) -> None:
    """Defence in depth: the facts never carry secrets, and this proves it for the output."""
    for path, text in documents.items():
        if any(secret in text for secret in _secrets(settings)):
            raise GovernanceError(f"refusing to write {path}: it would contain a secret setting")


def write(output: Path, documents: dict[str, str]) -> list[Path]:
    written = []
    try:
        for relative, text in documents.items():
            path = output / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(path.name + ".tmp")
            temporary.write_text(text, encoding="utf-8")
            os.replace(temporary, path)
            written.append(path)
    except OSError as exc:
        raise GovernanceError(
            f"cannot write to --output {output} ({exc.strerror or exc.__class__.__name__}); choose another folder"
        ) from None
    return written


async def generate(conn: asyncpg.Connection, settings: Settings, options: Options, today: dt.date) -> list[Path]:
    facts = await collect(conn, settings, options.municipality, today)
    documents = build(facts, options)
    check_no_secrets(documents, settings)
    return write(options.output, documents)
