"""chatbot.toxicity: the Dutch/English lexicon, the optional local classifier, and its fallbacks.

The classifiers are tiny random BERTs whose classification head has zero weights and a chosen
bias, so the model's output is known for every text; they are loaded through `load_toxicity`,
the production path. They are built once for the module."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatbot.toxicity import (
    DOUBT_THRESHOLD,
    TOXIC_THRESHOLD,
    LexiconChecker,
    ModelChecker,
    ToxicityChecker,
    ToxicityResult,
    ToxicityStatus,
    Verdict,
    load_toxicity,
    toxic_label_ids,
    verdict_for,
)
from tests.chatbot.tiny_models import build_tiny_classifier, build_tiny_model

REPO = Path(__file__).resolve().parents[2]
CATEGORIES = frozenset({"threat", "slur", "insult", "profanity", "quoted", "model"})
BINARY = {0: "neutral", 1: "toxic"}
LEXICON = LexiconChecker()


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("toxicity")
    return {
        "toxic": build_tiny_classifier(root / "always-toxic", BINARY, bias=[0.0, 10.0]),
        "clean": build_tiny_classifier(root / "always-clean", BINARY, bias=[10.0, 0.0]),
        # softmax([0, ln 1.5]) = [0.4, 0.6]: in doubt
        "doubt": build_tiny_classifier(root / "in-doubt", BINARY, bias=[0.0, math.log(1.5)]),
        "multi": build_tiny_classifier(
            root / "multi-label",
            {0: "toxic", 1: "severe_toxic", 2: "obscene", 3: "threat", 4: "insult", 5: "identity_hate"},
            bias=[-10.0, -10.0, -10.0, 3.0, -10.0, -10.0],
            problem_type="multi_label_classification",
        ),
        "numbered": build_tiny_classifier(root / "numbered", {0: "LABEL_0", 1: "LABEL_1"}, bias=[0.0, 10.0]),
        "sentiment": build_tiny_classifier(root / "sentiment", {0: "negative", 1: "positive"}, bias=[0.0, 0.0]),
        "encoder": build_tiny_model(root / "encoder-only"),
    }


@pytest.fixture(scope="module")
def always_toxic(models: dict[str, Path]) -> ToxicityChecker:
    checker, status = load_toxicity(models["toxic"])
    assert status == ToxicityStatus(model="always-toxic", path=str(models["toxic"]), reason="loaded")
    return checker


@pytest.fixture(scope="module")
def always_clean(models: dict[str, Path]) -> ToxicityChecker:
    checker, status = load_toxicity(models["clean"])
    assert status.loaded, status
    return checker


def check_one(checker: ToxicityChecker, text: str) -> ToxicityResult:
    [result] = checker.check([text])
    return result


def assert_well_formed(result: ToxicityResult) -> None:
    assert 0.0 <= result.score <= 1.0
    assert result.verdict is verdict_for(result.score)
    assert result.categories <= CATEGORIES
    assert (result.verdict is Verdict.CLEAN) == (not result.categories - {"model"} and result.score < DOUBT_THRESHOLD)


# -------------------------------------------------------------------------------------- lexicon

THREATS = [
    "ik maak je dood",
    "Ik maak je dood!!",
    "Ik sla je in elkaar als je nog een keer langskomt",
    "ik steek die gast neer",
    "ik ga jullie allemaal vermoorden",
    "ik maak [name] af",
    "Ik weet waar je woont.",
    "ik hoop dat je doodgaat",
    "Krijg de kanker",
    "ga toch dood",
    "pleeg zelfmoord",
    "Die moeten allemaal dood.",
    "ze moeten allemaal vergast worden",
    "Dood aan alle buitenlanders",
    "I will kill you",
    "I'll kill you",
    "I'm gonna find you and stab you",
    "kill yourself",
    "kys",
    "go die",
    "hang them high",
    "Hang them all!",
    "They should all die.",
    "I hope you get raped",
    "I know where you live",
    "death to all men",
    "Dood aan alle verkrachters",
    "I will fucking kill you",
    "we will kill your family",
    "I'll bash your head in",
]
EVASIONS = ["ik m44k je d00d", "k1ll yourself", "kill yourseeeelf", "k y s", "ik maak je doooood"]
QUOTED_SLURS = [
    "hij riep hoer naar me",
    "Hij noemde me een vieze slet en liep door",
    "Ze schreeuwden 'kankerhoer' toen ik langs fietste",
    "Er werd 'flikker' naar ons geroepen",
    "he called me a whore",
    "They shouted 'slut' at me from a car",
    "A man called my friend a bitch",
    "someone yelled faggot at us",
]
CLEAN = [
    "Er moet meer straatverlichting komen in het park",
    "More police patrols near the station at night",
    "Scholen moeten les geven over respect en grenzen",
    "Hoe kan het dat er geen camera's bij het station hangen?",
    "Het is idioot dat de tunnel 's nachts zo donker is",
    "Meer geld voor kankeronderzoek",
    "Mijn tante heeft borstkanker en durft 's avonds niet meer alleen naar buiten",
    "Mijn oom is kankerpatiënt",
    "Make posters and hang them up at every bus stop",
    "Print posters and hang them.",
    "Ze moeten opgehangen worden bij de ingang van het station",
    "Die klussen moeten eerst afgemaakt worden",
    "We will beat them at the next election",
    "These scenes should be shot at night",
    "I would never hurt you",
    "ik ga dood van de hitte",
    "Bus drivers should be trained to kill the engine when waiting",
    "I would say this will hurt them",
    "Closing the street would hurt local businesses",
    "We will shoot those videos at night",
    "You'd shoot yourself in the foot with that rule",
    "Vorig jaar ging een vrouw dood aan de gevolgen van een aanval",
    "Drop dead gorgeous murals would brighten the tunnel",
    "Ik zie je af en toe bij de bushalte",
    "ik maak mijn verhaal af",
    "Zet de kleren in de klerenkast",
    "",
    "   ",
    "[name] belde [phone]",
]


@pytest.mark.parametrize("text", THREATS + EVASIONS)
def test_threats_are_toxic(text: str) -> None:
    result = check_one(LEXICON, text)
    assert result.verdict is Verdict.TOXIC, text
    assert result.score == 1.0
    assert "threat" in result.categories
    assert result.method == "lexicon"
    assert_well_formed(result)


@pytest.mark.parametrize("text", QUOTED_SLURS)
def test_quoted_slurs_are_only_in_doubt(text: str) -> None:
    """Residents quote what was shouted at them: a slur alone goes to a moderator, never refused."""
    result = check_one(LEXICON, text)
    assert result.verdict is Verdict.DOUBT, text
    assert "slur" in result.categories
    assert "threat" not in result.categories
    assert_well_formed(result)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Wat een klootzak, die buschauffeur", "insult"),
        ("Die hufters op scooters", "insult"),
        ("kankerlijer", "insult"),
        ("tyfuslijer", "insult"),
        ("kutwijf", "insult"),
        ("kutmarokkaan", "slur"),
        ("wat een teringzooi", "profanity"),
        ("kanker", "profanity"),
        ("fucking scooters everywhere", "profanity"),
        ("the guy was an asshole", "insult"),
        ("ga terug naar je eigen land", "insult"),
        ("go back to your country", "insult"),
        ("hoeeeer", "slur"),
        ("h0er", "slur"),
        ("b!tch", "slur"),
        ("sluuuuut", "slur"),
        ("h o e r", "slur"),
    ],
)
def test_abusive_words_are_in_doubt(text: str, category: str) -> None:
    result = check_one(LEXICON, text)
    assert result.verdict is Verdict.DOUBT, text
    assert category in result.categories
    assert_well_formed(result)


@pytest.mark.parametrize("text", CLEAN)
def test_ordinary_statements_are_clean(text: str) -> None:
    result = check_one(LEXICON, text)
    assert result == ToxicityResult(Verdict.CLEAN, 0.0, "lexicon", frozenset()), text


@pytest.mark.parametrize(
    "text", ["kanker", "Mijn moeder heeft kanker", "kankeronderzoek", "borstkanker", "kankerlijder"]
)
def test_medical_words_are_never_toxic(text: str) -> None:
    assert check_one(LEXICON, text).verdict is not Verdict.TOXIC


@pytest.mark.parametrize(
    "text",
    [
        "Hij riep: ik maak je dood",
        '"I will kill you," he shouted.',
        "Mannen die roepen 'ik maak je dood' moeten een boete krijgen",
        "He said kill yourself and walked off",
        "Ze riepen dat die moeten allemaal dood",
    ],
)
def test_reported_threats_go_to_moderation(text: str) -> None:
    """A threat someone describes having received is held for a human, not refused."""
    result = check_one(LEXICON, text)
    assert result.verdict is Verdict.DOUBT, text
    assert {"threat", "quoted"} <= result.categories
    assert_well_formed(result)


def test_a_made_threat_next_to_a_reported_one_is_toxic() -> None:
    result = check_one(LEXICON, "Hij riep: ik maak je dood. En ik zeg: ik maak jou dood")
    assert result.verdict is Verdict.TOXIC
    assert "quoted" not in result.categories


def test_categories_never_contain_the_text() -> None:
    texts = THREATS + EVASIONS + QUOTED_SLURS + CLEAN + ["kankerhoer", "kut", "whore", "motherfucker"]
    for text, result in zip(texts, LEXICON.check(texts), strict=True):
        assert_well_formed(result)
        words = set(text.casefold().split())
        assert not (result.categories - CATEGORIES)
        assert not (result.categories & words - CATEGORIES), text


def test_lexicon_is_batched_and_deterministic() -> None:
    texts = [THREATS[0], QUOTED_SLURS[0], CLEAN[0]]
    results = LEXICON.check(texts)
    assert [r.verdict for r in results] == [Verdict.TOXIC, Verdict.DOUBT, Verdict.CLEAN]
    assert results == LexiconChecker().check(texts)
    assert LEXICON.check([]) == []
    assert isinstance(LEXICON, ToxicityChecker) and LEXICON.name == "lexicon"
    with pytest.raises(TypeError):
        LEXICON.check("ik maak je dood")


def test_long_text_is_fast() -> None:
    import time

    text = ("ik ga je die moeten hang them i will h0er hoeeeer k y s " * 2000) + " ik maak je dood"
    start = time.perf_counter()
    assert check_one(LEXICON, text).verdict is Verdict.TOXIC
    assert time.perf_counter() - start < 5


def test_verdict_for_thresholds() -> None:
    assert verdict_for(0.0) is Verdict.CLEAN
    assert verdict_for(math.nextafter(DOUBT_THRESHOLD, 0)) is Verdict.CLEAN
    assert verdict_for(DOUBT_THRESHOLD) is Verdict.DOUBT
    assert verdict_for(math.nextafter(TOXIC_THRESHOLD, 0)) is Verdict.DOUBT
    assert verdict_for(TOXIC_THRESHOLD) is Verdict.TOXIC
    assert verdict_for(1.0) is Verdict.TOXIC
    assert Verdict.TOXIC == "toxic"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=300), max_size=5))
def test_lexicon_never_raises(texts: list[str]) -> None:
    results = LEXICON.check(texts)
    assert len(results) == len(texts)
    for result in results:
        assert_well_formed(result)


# ---------------------------------------------------------------------------------------- model


def test_model_toxic_for_every_text(always_toxic: ToxicityChecker) -> None:
    assert isinstance(always_toxic, ModelChecker)
    assert always_toxic.name == "always-toxic"
    assert always_toxic.toxic_ids == (1,)
    assert always_toxic.max_length == 64
    results = always_toxic.check([*CLEAN[:3], ""])
    for result in results:
        assert result.verdict is Verdict.TOXIC
        assert result.method == "model:always-toxic+lexicon"
        assert result.categories == {"model"}
        assert result.score == pytest.approx(1 / (1 + math.exp(-10)), abs=1e-6)
        assert_well_formed(result)


def test_clean_model_still_gets_the_lexicon(always_clean: ToxicityChecker) -> None:
    clean, threat, slur = always_clean.check([CLEAN[0], THREATS[0], QUOTED_SLURS[0]])
    assert clean.verdict is Verdict.CLEAN and clean.categories == frozenset()
    assert clean.score == pytest.approx(1 / (1 + math.exp(10)), abs=1e-6)
    assert threat.verdict is Verdict.TOXIC and threat.categories == {"threat"} and threat.score == 1.0
    assert slur.verdict is Verdict.DOUBT and slur.categories == {"slur"}
    for result in (clean, threat, slur):
        assert result.method == "model:always-clean+lexicon"
        assert_well_formed(result)


def test_model_in_doubt(models: dict[str, Path]) -> None:
    checker, status = load_toxicity(models["doubt"])
    assert status.loaded
    [result] = checker.check([CLEAN[1]])
    assert result.verdict is Verdict.DOUBT
    assert result.score == pytest.approx(0.6, abs=1e-5)
    assert result.categories == {"model"}
    # The more severe verdict wins: a threat is still refused.
    assert check_one(checker, THREATS[14]).verdict is Verdict.TOXIC


def test_multi_label_model_uses_sigmoid(models: dict[str, Path]) -> None:
    checker, status = load_toxicity(models["multi"])
    assert status.loaded
    assert isinstance(checker, ModelChecker)
    assert checker.multi_label and checker.toxic_ids == (0, 1, 2, 3, 4, 5)
    result = check_one(checker, CLEAN[0])
    assert result.score == pytest.approx(1 / (1 + math.exp(-3)), abs=1e-5)  # the "threat" output, 0.95
    assert result.verdict is Verdict.TOXIC


def test_numbered_labels_label_1_is_toxic(models: dict[str, Path]) -> None:
    checker, status = load_toxicity(models["numbered"])
    assert status.loaded
    assert isinstance(checker, ModelChecker) and checker.toxic_ids == (1,)
    assert check_one(checker, CLEAN[0]).verdict is Verdict.TOXIC


def test_long_text_is_truncated(always_clean: ToxicityChecker) -> None:
    results = always_clean.check(["meer licht " * 500, "park"])
    assert [r.verdict for r in results] == [Verdict.CLEAN, Verdict.CLEAN]


def test_model_checker_is_thread_safe(always_clean: ToxicityChecker) -> None:
    texts = [CLEAN[0], THREATS[0], "meer licht " * 40, QUOTED_SLURS[4]] * 4
    expected = always_clean.check(texts)
    outcomes: list[list[ToxicityResult]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            outcomes.append(always_clean.check(texts))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(outcomes) == 4
    for outcome in outcomes:
        assert [r.verdict for r in outcome] == [r.verdict for r in expected]
        for got, want in zip(outcome, expected, strict=True):
            assert got.score == pytest.approx(want.score, abs=1e-6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(max_size=200), max_size=4))
def test_model_checker_never_raises(always_clean: ToxicityChecker, texts: list[str]) -> None:
    results = always_clean.check(texts)
    assert len(results) == len(texts)
    for result in results:
        assert_well_formed(result)


# ------------------------------------------------------------------------------------- fallbacks


@pytest.mark.parametrize("path", [None, "", "   "])
def test_no_model_configured(path: str | None) -> None:
    checker, status = load_toxicity(path)
    assert isinstance(checker, LexiconChecker)
    assert status == ToxicityStatus(model=None, path=None, reason="no model configured")
    assert not status.loaded


def test_missing_path_and_hub_names(tmp_path: Path) -> None:
    checker, status = load_toxicity(tmp_path / "nowhere")
    assert isinstance(checker, LexiconChecker)
    assert status == ToxicityStatus(None, str(tmp_path / "nowhere"), f"no model at {tmp_path / 'nowhere'}")
    for hub_name in ("unitary/toxic-bert", "GroNLP/bert-base-dutch-cased"):
        checker, status = load_toxicity(hub_name)
        assert isinstance(checker, LexiconChecker)
        assert status.reason == f"no model at {hub_name}"


def test_model_without_toxic_label_falls_back(models: dict[str, Path]) -> None:
    checker, status = load_toxicity(models["sentiment"])
    assert isinstance(checker, LexiconChecker)
    assert status == ToxicityStatus(
        model=None, path=str(models["sentiment"]), reason="model failed to load: no toxic label in negative, positive"
    )
    assert check_one(checker, THREATS[0]).verdict is Verdict.TOXIC  # the lexicon still works


def test_encoder_without_classification_head_falls_back(models: dict[str, Path]) -> None:
    """A plain encoder has LABEL_0/LABEL_1 by default; transformers would fill the missing head
    with random weights. That must not load."""
    checker, status = load_toxicity(models["encoder"])
    assert isinstance(checker, LexiconChecker)
    assert status.reason == "model failed to load: IncompleteModelError"


def test_broken_models_fall_back(tmp_path: Path, models: dict[str, Path]) -> None:
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "config.json").write_text("{ not json")
    checker, status = load_toxicity(garbage)
    assert isinstance(checker, LexiconChecker)
    assert status.model is None and status.reason.startswith("model failed to load: ")

    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    for item in models["toxic"].iterdir():
        (corrupt / item.name).write_bytes(item.read_bytes())
    (corrupt / "model.safetensors").write_bytes(b"\x00" * 64)
    checker, status = load_toxicity(corrupt)
    assert isinstance(checker, LexiconChecker)
    assert status.reason.startswith("model failed to load: ")

    no_labels = tmp_path / "no-labels"
    no_labels.mkdir()
    for item in models["toxic"].iterdir():
        (no_labels / item.name).write_bytes(item.read_bytes())
    config = json.loads((no_labels / "config.json").read_text())
    config["id2label"] = {"0": "neutral", "1": "spam"}
    config["label2id"] = {"neutral": 0, "spam": 1}
    (no_labels / "config.json").write_text(json.dumps(config))
    checker, status = load_toxicity(no_labels)
    assert isinstance(checker, LexiconChecker)
    assert status.reason == "model failed to load: no toxic label in neutral, spam"


def test_without_transformers_or_torch(monkeypatch: pytest.MonkeyPatch, models: dict[str, Path]) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)
    checker, status = load_toxicity(models["toxic"])
    assert isinstance(checker, LexiconChecker)
    assert status == ToxicityStatus(model=None, path=str(models["toxic"]), reason="transformers not installed")
    monkeypatch.setitem(sys.modules, "torch", None)
    assert load_toxicity(models["toxic"])[1].reason == "torch not installed"


def test_loading_never_touches_the_network(monkeypatch: pytest.MonkeyPatch, models: dict[str, Path]) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("chatbot.toxicity tried to use the network")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    checker, status = load_toxicity(models["clean"])
    assert status.loaded
    checker.check(["meer licht"])
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"


@pytest.mark.parametrize(
    ("id2label", "expected"),
    [
        ({0: "neutral", 1: "toxic"}, (1,)),
        ({"0": "NOT_TOXIC", "1": "Toxic"}, (1,)),
        ({0: "hate speech", 1: "offensive", 2: "neither"}, (0, 1)),
        ({0: "non-toxic", 1: "Severe-Toxic"}, (1,)),
        ({0: "LABEL_0", 1: "LABEL_1"}, (1,)),
        ({0: "label_0", 1: "label_1"}, (1,)),
    ],
)
def test_toxic_label_ids(id2label: dict[int, str], expected: tuple[int, ...]) -> None:
    assert toxic_label_ids(id2label) == expected


@pytest.mark.parametrize(
    "id2label", [{0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, {0: "non_toxic", 1: "neutral"}, {0: "LABEL_0"}, {}]
)
def test_no_toxic_label(id2label: dict[int, str]) -> None:
    with pytest.raises(ValueError, match="no toxic label"):
        toxic_label_ids(id2label)


def test_module_imports_without_torch() -> None:
    script = (
        "import sys, json\n"
        "sys.modules['torch'] = None\n"
        "sys.modules['transformers'] = None\n"
        "from chatbot import toxicity\n"
        "checker, status = toxicity.load_toxicity(None)\n"
        "[r] = checker.check(['ik maak je dood'])\n"
        "print(json.dumps({'reason': status.reason, 'verdict': r.verdict}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=60, check=True
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"reason": "no model configured", "verdict": "toxic"}
