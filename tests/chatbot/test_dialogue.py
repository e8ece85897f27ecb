"""The dialogue's pure parts: composing the statement from the participant's words, telling
commands from views, and screening what a participant writes (property-tested: nothing the
scrubber recognises survives into what the bot keeps)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatbot import dialogue, nlp, phrases
from chatbot.engine import Config, Engine
from privacy import pii

ENGINE = Engine(config=Config(), embedder=nlp.LexicalEmbedder(), nlp_status=nlp.NlpStatus(None, None, "test"))


@pytest.mark.parametrize(
    ("position", "reason", "language", "expected"),
    [
        ("er moet meer licht komen", "het is donker", "nl", "Er moet meer licht komen, want het is donker."),
        ("Er moet meer licht komen.", "omdat het donker is!", "nl", "Er moet meer licht komen, omdat het donker is."),
        ("more police at night", "I feel unsafe", "en", "More police at night, because I feel unsafe."),
        ("More police at night", "Because it is empty.", "en", "More police at night, because it is empty."),
        ("Fix the lights", "NS stations are dark", "en", "Fix the lights, because NS stations are dark."),
        ("Fix the lights", None, "en", "Fix the lights."),
        ("Why is nobody doing anything?", "", "en", "Why is nobody doing anything?"),
    ],
)
def test_compose_uses_the_participants_own_words(
    position: str, reason: str | None, language: str, expected: str
) -> None:
    assert dialogue.compose(position, reason, language) == expected


@pytest.mark.parametrize(
    ("text", "meaning"),
    [
        ("stop", {"stop"}),
        ("Stop!", {"stop"}),
        ("verwijder mijn gegevens", {"delete"}),
        ("Delete my data.", {"delete"}),
        ("nederlands", {"language"}),
        ("waar sta ik?", {"stand"}),
        ("eens", {"agree"}),
        ("weet niet", {"pass"}),
        ("nee", {"no", "skip"}),
        ("stop catcalling near the station", set()),
        ("help de slachtoffers sneller", set()),
        ("er moet meer licht komen", set()),
    ],
)
def test_only_a_whole_message_is_a_command(text: str, meaning: set[str]) -> None:
    assert dialogue.recognise(text) == meaning


def test_every_phrase_and_button_exists_in_both_languages() -> None:
    for table in (phrases.PHRASES, phrases.BUTTONS, phrases.PII_NAMES):
        for key, texts in table.items():
            assert set(texts) == set(phrases.LANGUAGES), key
    for payload in dialogue.PAYLOADS:
        if payload not in ("delete",):
            assert payload in phrases.BUTTONS, payload


def test_screening_refuses_threats_and_warns_about_personal_data() -> None:
    kept, messages = dialogue.take_part(ENGINE, "Ik maak je dood", "nl", limit=200)
    assert kept is None and "bedreiging" in messages[0].text
    kept, messages = dialogue.take_part(ENGINE, "mail jan@example.nl: meer licht", "en", limit=200)
    assert kept == "mail [email]: meer licht" and "e-mail address" in messages[0].text
    assert dialogue.take_part(ENGINE, "ok", "en", limit=200)[0] is None  # too short
    assert dialogue.take_part(ENGINE, "x" * 201, "en", limit=200)[0] is None  # too long


phones = st.from_regex(r"06[1-9][0-9]{7}", fullmatch=True)
emails = st.from_regex(r"[a-z]{2,8}@[a-z]{3,8}\.nl", fullmatch=True)
words = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)


@settings(max_examples=150, deadline=None)
@given(before=words, secret=st.one_of(phones, emails), after=words, language=st.sampled_from(("nl", "en")))
def test_what_the_bot_keeps_never_holds_recognised_personal_data(
    before: str, secret: str, after: str, language: str
) -> None:
    text = f"{before} {secret} {after}"
    kept, messages = dialogue.take_part(ENGINE, text, language, limit=dialogue.MAX_INPUT_CHARS)
    experience = dialogue.keep_experience(ENGINE, text)
    for value in (kept, experience):
        if value is not None:
            assert secret not in value
            assert pii.scrub(value).text == value  # a fixpoint: nothing left to scrub
    assert all(secret not in m.text for m in messages)  # the bot never repeats it either
