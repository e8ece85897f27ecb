"""chatbot.names: person names found by an optional local NER model, replaced by [name].

The taggers are tiny random BERTs with labels O / B-PER / I-PER whose classification head has
zero weights and a chosen bias, so every token gets the same known label; they are loaded through
`load_name_finder`, the production path, and built once for the module."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatbot import names
from chatbot.names import NameFinder, NamesStatus, load_name_finder, person_label_ids, scrub
from privacy import pii
from tests.chatbot.tiny_models import build_tiny_classifier, build_tiny_model, build_tiny_tagger

REPO = Path(__file__).resolve().parents[2]
PER_LABELS = {0: "O", 1: "B-PER", 2: "I-PER"}
PLACEHOLDER = re.compile(r"\[(?:" + "|".join(kind.value for kind in pii.PiiKind) + r")\]")
SAMPLES = [
    "Jan Jansen belde me op 06-12345678 en mailde jan@example.nl",
    "Mijn naam is Piet de Vries, ik woon op Kerkstraat 12",
    "Meneer Bakker riep iets naar me bij het station",
    "meer licht in het park",
    "",
    "[name] zei dat [phone] niet klopt",
]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("names")
    return {
        "nobody": build_tiny_tagger(root / "all-o", PER_LABELS, bias=[10.0, 0.0, 0.0]),
        "everyone": build_tiny_tagger(root / "all-per", PER_LABELS, bias=[0.0, 10.0, 5.0]),
        "places": build_tiny_tagger(root / "places", {0: "O", 1: "B-LOC", 2: "I-LOC"}, bias=[0.0, 0.0, 0.0]),
        "classifier": build_tiny_classifier(root / "classifier", {0: "neutral", 1: "toxic"}),
        "encoder": build_tiny_model(root / "encoder-only"),
    }


@pytest.fixture(scope="module")
def nobody(models: dict[str, Path]) -> NameFinder:
    finder, status = load_name_finder(models["nobody"])
    assert status == NamesStatus(model="all-o", path=str(models["nobody"]), reason="loaded")
    assert finder is not None
    return finder


@pytest.fixture(scope="module")
def everyone(models: dict[str, Path]) -> NameFinder:
    finder, status = load_name_finder(models["everyone"])
    assert status.loaded, status
    assert finder is not None
    return finder


def placeholders(text: str) -> Counter[str]:
    return Counter(PLACEHOLDER.findall(text))


def assert_fixpoint(text: str) -> None:
    again = pii.scrub(text)
    assert again.text == text
    assert again.found == frozenset()


class FixedSpans(NameFinder):
    """A finder that reports given spans (for the replacement logic, independent of any model)."""

    def __init__(self, spans: Sequence[tuple[int, int]]) -> None:
        self.name = "fixed"
        self._spans = list(spans)

    def spans(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        return [list(self._spans) for _ in texts]


# ----------------------------------------------------------------------------------- real models


def test_model_that_finds_nobody_changes_nothing(nobody: NameFinder) -> None:
    assert nobody.name == "all-o" and nobody.person_ids == (1, 2) and nobody.max_length == 64
    assert nobody.spans(SAMPLES) == [[] for _ in SAMPLES]
    for text in SAMPLES:
        assert scrub(text, nobody) == pii.scrub(text)


def test_model_that_finds_everyone_replaces_every_word(everyone: NameFinder) -> None:
    text = "Jan Jansen belde me op 06-12345678, mijn naam is Piet."
    first = pii.scrub(text)
    assert first.text == "Jan Jansen belde me op [phone], mijn naam is [name]."
    result = scrub(text, everyone)
    assert result.found == {pii.PiiKind.PHONE, pii.PiiKind.NAME}
    # Words become one [name] per run; the placeholders and the punctuation next to them stay.
    assert result.text == "[name] [phone], [name] [name]."
    assert_fixpoint(result.text)


@pytest.mark.parametrize("text", SAMPLES[:3] + SAMPLES[5:])
def test_everyone_keeps_pii_placeholders_and_leaves_no_words(everyone: NameFinder, text: str) -> None:
    first = pii.scrub(text)
    result = scrub(text, everyone)
    kept = placeholders(result.text)
    for placeholder, count in placeholders(first.text).items():
        if placeholder != "[name]":
            assert kept[placeholder] == count
    assert not any(char.isalnum() for char in PLACEHOLDER.sub("", result.text)), result.text
    assert pii.PiiKind.NAME in result.found
    assert first.found <= result.found
    assert_fixpoint(result.text)


def test_spans_are_merged_words(everyone: NameFinder) -> None:
    text = "Jan-Willem d'Ancona, kom hier"
    assert everyone.spans([text]) == [[(0, len(text))]]  # every token, the comma too, is "PER"
    assert scrub(text, everyone).text == "[name]"
    assert everyone.spans(["", "   "]) == [[], []]
    assert everyone.spans([]) == []
    with pytest.raises(TypeError):
        everyone.spans("Jan")


def test_long_text_is_read_to_the_end(everyone: NameFinder) -> None:
    """Past the model's 64 positions: overlapping windows, so the last word is still seen."""
    text = "licht " * 200 + "Jansen"
    assert everyone.spans([text]) == [[(0, len(text))]]
    assert scrub(text, everyone).text == "[name]"


def test_finder_is_thread_safe(everyone: NameFinder) -> None:
    texts = [SAMPLES[0], "licht " * 100, SAMPLES[1]]
    expected = everyone.spans(texts)
    outcomes: list[list[list[tuple[int, int]]]] = []

    def work() -> None:
        outcomes.append(everyone.spans(texts))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == [expected] * 4


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200))
def test_scrub_with_a_model_is_a_pii_fixpoint(everyone: NameFinder, text: str) -> None:
    first = pii.scrub(text)
    result = scrub(text, everyone)
    assert_fixpoint(result.text)
    assert first.found <= result.found
    kept = placeholders(result.text)
    for placeholder, count in placeholders(first.text).items():
        if placeholder != "[name]":
            assert kept[placeholder] >= count


# --------------------------------------------------------------------------- replacement logic


def test_without_a_finder_scrub_is_pii_scrub() -> None:
    for text in [*SAMPLES, "ik heet Anna en mijn nummer is 0612345678", "Jan Jansen zei hoi"]:
        assert scrub(text, None) == pii.scrub(text)


def test_adjacent_and_overlapping_spans_become_one_placeholder() -> None:
    text = "Gisteren zei Jan Jansen hallo"
    result = scrub(text, FixedSpans([(13, 16), (17, 23), (14, 20)]))
    assert result == pii.ScrubResult("Gisteren zei [name] hallo", frozenset({pii.PiiKind.NAME}))


def test_spans_never_touch_placeholders() -> None:
    text = "Jan 0612345678 Piet"  # pii makes it "Jan [phone] Piet"
    whole = FixedSpans([(0, len("Jan [phone] Piet"))])
    assert scrub(text, whole).text == "[name] [phone] [name]"
    inside = FixedSpans([(5, 10)])  # "phone" inside the placeholder
    assert scrub(text, inside) == pii.scrub(text)
    punctuation = FixedSpans([(3, 4)])  # only a space: nothing to replace
    assert scrub(text, punctuation) == pii.scrub(text)


def test_an_existing_name_placeholder_is_kept() -> None:
    text = "mijn naam is Anna, vraag het Piet"  # pii: "mijn naam is [name], vraag het Piet"
    scrubbed = pii.scrub(text).text
    start = scrubbed.index("Piet")
    result = scrub(text, FixedSpans([(scrubbed.index("[name]"), len(scrubbed))]))
    assert result.text == "mijn naam is [name], [name]"  # the comma after the placeholder stays
    assert scrub(text, FixedSpans([(start, start + 4)])).text == "mijn naam is [name], vraag het [name]"


@pytest.mark.parametrize(
    ("text", "span", "expected"),
    [
        ("Jan-Willem komt", (4, 6), (0, 10)),  # a hyphen between letters joins the word
        ("d'Ancona zegt", (3, 5), (0, 8)),
        ("Zoë", (0, 2), (0, 3)),
        ("[phone]-Jan", (8, 10), (8, 11)),  # not across the bracket, nor a leading hyphen
        ("Jan- Piet", (0, 2), (0, 3)),  # a trailing hyphen is not part of the word
    ],
)
def test_spans_are_widened_to_whole_words(text: str, span: tuple[int, int], expected: tuple[int, int]) -> None:
    assert names._widen(text, *span) == expected


def test_punctuation_at_span_edges_stays() -> None:
    text = "Ik zag (Jan Jansen). Hij"
    result = scrub(text, FixedSpans([(7, 19)]))
    assert result.text == "Ik zag ([name]). Hij"


# ------------------------------------------------------------------------------------- fallbacks


@pytest.mark.parametrize("path", [None, "", "  "])
def test_no_model_configured(path: str | None) -> None:
    assert load_name_finder(path) == (None, NamesStatus(model=None, path=None, reason="no model configured"))


def test_missing_path_and_hub_names(tmp_path: Path) -> None:
    finder, status = load_name_finder(tmp_path / "nowhere")
    assert finder is None
    assert status == NamesStatus(None, str(tmp_path / "nowhere"), f"no model at {tmp_path / 'nowhere'}")
    assert not status.loaded
    assert (
        load_name_finder("GroNLP/bert-base-dutch-cased-ner")[1].reason == "no model at GroNLP/bert-base-dutch-cased-ner"
    )


def test_model_without_person_label_falls_back(models: dict[str, Path]) -> None:
    assert load_name_finder(models["places"]) == (
        None,
        NamesStatus(None, str(models["places"]), "model failed to load: no person label in O, B-LOC, I-LOC"),
    )
    assert load_name_finder(models["classifier"])[1].reason == "model failed to load: no person label in neutral, toxic"


def test_encoder_without_classification_head_falls_back(models: dict[str, Path]) -> None:
    # A plain encoder's default labels are LABEL_0/LABEL_1: no person label, so it never gets as
    # far as a randomly initialised head.
    finder, status = load_name_finder(models["encoder"])
    assert finder is None
    assert status.reason == "model failed to load: no person label in LABEL_0, LABEL_1"


def test_checkpoint_without_head_falls_back(tmp_path: Path, models: dict[str, Path]) -> None:
    """Labels say PER but the weights are a plain encoder's: the head would be random."""
    headless = tmp_path / "headless"
    headless.mkdir()
    for item in models["encoder"].iterdir():
        (headless / item.name).write_bytes(item.read_bytes())
    config = json.loads((headless / "config.json").read_text())
    config["id2label"] = {str(k): v for k, v in PER_LABELS.items()}
    config["label2id"] = {v: k for k, v in PER_LABELS.items()}
    (headless / "config.json").write_text(json.dumps(config))
    finder, status = load_name_finder(headless)
    assert finder is None
    assert status.reason == "model failed to load: ModelConfigError"


def test_broken_models_fall_back(tmp_path: Path, models: dict[str, Path]) -> None:
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "config.json").write_text("{ not json")
    finder, status = load_name_finder(garbage)
    assert finder is None and status.reason.startswith("model failed to load: ")

    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    for item in models["everyone"].iterdir():
        (corrupt / item.name).write_bytes(item.read_bytes())
    (corrupt / "model.safetensors").write_bytes(b"\x00" * 64)
    finder, status = load_name_finder(corrupt)
    assert finder is None and status.reason.startswith("model failed to load: ")


def test_without_transformers_or_torch(monkeypatch: pytest.MonkeyPatch, models: dict[str, Path]) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)
    assert load_name_finder(models["everyone"]) == (
        None,
        NamesStatus(None, str(models["everyone"]), "transformers not installed"),
    )
    monkeypatch.setitem(sys.modules, "torch", None)
    assert load_name_finder(models["everyone"])[1].reason == "torch not installed"


@pytest.mark.parametrize(
    ("id2label", "expected"),
    [
        ({0: "O", 1: "B-PER", 2: "I-PER"}, (1, 2)),
        ({"0": "o", "1": "b-person", "2": "I-Person", "3": "B-LOC"}, (1, 2)),
        ({0: "O", 1: "PER", 2: "ORG"}, (1,)),
        ({0: "PERSON", 1: "O"}, (0,)),
    ],
)
def test_person_label_ids(id2label: dict[int, str], expected: tuple[int, ...]) -> None:
    assert person_label_ids(id2label) == expected


def test_module_imports_without_torch() -> None:
    script = (
        "import sys, json\n"
        "sys.modules['torch'] = None\n"
        "sys.modules['transformers'] = None\n"
        "from chatbot import names\n"
        "finder, status = names.load_name_finder('/nonexistent/model')\n"
        "print(json.dumps({'reason': status.reason, 'text': names.scrub('ik heet Anna', finder).text}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=60, check=True
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "reason": "no model at /nonexistent/model",
        "text": "ik heet [name]",
    }
    assert frozenset({"per", "person", "b-per", "i-per", "b-person", "i-person"}) == names.PERSON_LABELS
