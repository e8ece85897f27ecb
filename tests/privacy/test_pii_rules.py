"""The scrubber skips the rules that need a digit or an "@" when the text has neither
(privacy/pii.py `_rules_for`). Skipping must never change an outcome: every test here compares
`scrub` with a run of every rule on the same input."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privacy import pii
from tests.privacy import test_pii as corpus

TABLES = [
    corpus.EMAILS,
    corpus.URLS,
    corpus.HANDLES,
    corpus.PHONES,
    corpus.POSTCODES,
    corpus.ADDRESSES,
    corpus.PLATES,
    corpus.IBANS,
    corpus.BSNS,
    corpus.NAMES,
    corpus.GLUED,
]
INPUTS = [row[0] for table in TABLES for row in table] + list(corpus.ORDINARY)
DIGITS = re.compile(r"\d")


def every_rule(text: str) -> pii.ScrubResult:
    with mock.patch.object(pii, "_rules_for", lambda _text: pii._RULES):
        return pii.scrub(text)


def near_misses(text: str) -> list[str]:
    """The text, and the text with its digits, its "@" or both taken out: what is left of a
    phone number, an address or an e-mail address once the guard would skip its rule."""
    no_digits = DIGITS.sub("", text)
    return [text, no_digits, text.replace("@", ""), no_digits.replace("@", ""), DIGITS.sub("x", text)]


@pytest.mark.parametrize("text", INPUTS)
def test_skipping_rules_changes_nothing_on_the_corpus(text: str) -> None:
    for variant in near_misses(text):
        assert pii.scrub(variant) == every_rule(variant), variant


def test_the_guard_skips_rules_for_text_without_digits_or_at() -> None:
    """Otherwise the tests above compare a function with itself."""
    assert len(pii._rules_for("Iemand riep dingen naar me.")) < len(pii._rules_for("Bel 0612345678 of a@b.nl"))
    assert pii._rules_for("a@b.nl 06 12345678") == pii._RULES
    # The guard looks at the normalised text: full-width digits and "@" (U+FF10-FF19, U+FF20) count.
    assert pii.scrub("bel \uff10\uff16\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18").found == {pii.PiiKind.PHONE}
    assert pii.scrub("jan\uff20example.nl").found == {pii.PiiKind.EMAIL}


PARTS = [
    "Hoofdstraat",
    "Grote Markt",
    "Laan van Meerdervoort",
    "Baker Street",
    "nr",
    "AB-CD-EF",
    "ABCDEF",
    "bcdfgh",
    "NL",
    "ABNA",
    "tel",
    "+",
    "(0)",
    "mijn naam is",
    "ik ben",
    "Jan",
    "de Vries",
    "Mr",
    "dhr.",
    "jan",
    "(at)",
    "[at]",
    " at ",
    " dot ",
    "punt",
    "x.nl",
    "www.",
    "https://",
    "example.com",
    "@",
    "\uff20",
    "\u0663",
    "\uff10",
    "\u00b2",
    "\u2460",
    "\u216b",
    "\u00ad",
    "\u200b",
    "-",
    ".",
    ",",
    " ",
    "'",
    "[phone]",
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(st.sampled_from(PARTS), st.text(st.characters(exclude_categories=["Nd"]), max_size=4)),
        max_size=14,
    ),
    st.sampled_from(["", " "]),
)
def test_skipping_rules_changes_nothing(parts: list[str], glue: str) -> None:
    text = glue.join(parts)
    assert pii.scrub(text) == every_rule(text)
