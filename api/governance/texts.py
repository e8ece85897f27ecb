"""Bilingual text and the placeholder marker shared by every governance document.

A placeholder is what a privacy officer or the municipality must write themselves (a contact
address, a legal assessment, a risk score): the software cannot know it, and inventing it would
make a generated document look finished when it is not. Placeholders all carry the same marker,
so `count_placeholders` can say in the manifest how much is left to fill in.
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

Language = Literal["nl", "en"]
LANGUAGES: tuple[Language, ...] = ("nl", "en")

TODO_NL = "IN TE VULLEN"
TODO_EN = "TO FILL IN"
_TODO = re.compile(rf"\[(?:{TODO_NL}|{TODO_EN}):")


class GovernanceError(Exception):
    """Something the operator must fix before documents can be generated (one line, exit 2)."""


class Text(NamedTuple):
    nl: str
    en: str

    def __call__(self, language: Language) -> str:
        return self.nl if language == "nl" else self.en


def todo(what: Text, language: Language) -> str:
    """A clearly marked blank for a person to fill in (bold in markdown)."""
    return f"**[{TODO_NL if language == 'nl' else TODO_EN}: {what(language)}]**"


def plain_todo(what: Text, language: Language) -> str:
    """The same blank without markdown, for JSON fields."""
    return f"[{TODO_NL if language == 'nl' else TODO_EN}: {what(language)}]"


def count_placeholders(document: str) -> int:
    return len(_TODO.findall(document))


def table(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table; pipes and line breaks inside cells are escaped so a value never breaks it."""

    def cell(value: str) -> str:
        return value.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
