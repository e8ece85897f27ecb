"""Person names in residents' text, found by an optional local NER model, replaced by ``[name]``.

Why
    A person's name is personal data. `privacy.pii.scrub` catches names only after trigger phrases
    ("mijn naam is ...", "meneer ...", "called ..."); a token-classification (NER) model, when the
    operator configures one, finds the rest ("Jan Jansen zei ...").

How
    `scrub` runs `privacy.pii.scrub` first, then asks the model for person-name spans in the
    scrubbed text and replaces each by the ``[name]`` placeholder. Spans are widened to whole
    words, spans that touch or are separated only by whitespace are merged into one placeholder,
    nothing inside an existing ``[...]`` placeholder is ever replaced, and punctuation at a span's
    edges is left in place (spans without a letter or digit are ignored). The result is scrubbed
    by `privacy.pii.scrub` once more, so it is a fixpoint of `privacy.pii.scrub` like every
    scrubbed text.

The model (`load_name_finder`)
    Loaded offline from a local directory exactly like `chatbot.nlp`'s embedder (no network, no
    remote code, safetensors only). A token is part of a name when its most likely label is a
    person label (PER, PERSON, B-PER, I-PER, B-PERSON, I-PERSON, any case), as in the transformers
    token-classification pipeline; character positions come from the fast tokenizer's offsets
    mapping. Long texts are read in overlapping windows of the model's maximum length, so a name
    near the end is not cut off. Without a model `scrub` is exactly `privacy.pii.scrub`.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from chatbot import nlp
from privacy import pii

log = logging.getLogger(__name__)

__all__ = ["PERSON_LABELS", "NameFinder", "NamesStatus", "load_name_finder", "scrub"]

PERSON_LABELS = frozenset({"per", "person", "b-per", "i-per", "b-person", "i-person"})
"""Labels (compared case-insensitively) that mark a token as part of a person's name."""
BATCH_SIZE = 16  # windows per forward pass
MIN_MAX_LENGTH = 8

_PLACEHOLDER = re.compile("|".join(re.escape(f"[{kind.value}]") for kind in pii.PiiKind))
_NAME_PLACEHOLDER = f"[{pii.PiiKind.NAME.value}]"
_WORD_JOINERS = frozenset("'\u2019-")


NamesStatus = nlp.NlpStatus  # what the loader ended up with: model, path, reason ("loaded" or why not)


class PersonLabelError(ValueError):
    """The model's labels include no person label."""


def person_label_ids(id2label: Mapping[Any, str]) -> tuple[int, ...]:
    """The ids of the person labels; raises `PersonLabelError` when there is none."""
    labels = {int(key): str(value) for key, value in id2label.items()}
    found = tuple(sorted(i for i, label in labels.items() if label.strip().casefold() in PERSON_LABELS))
    if not found:
        shown = ", ".join(labels[i] for i in sorted(labels))
        raise PersonLabelError(f"no person label in {shown[:200] or 'an empty label list'}")
    return found


def _is_word_char(char: str) -> bool:
    return char.isalnum() or unicodedata.category(char).startswith("M")


def _widen(text: str, start: int, end: int) -> tuple[int, int]:
    """Extend a span to whole words: letters, digits and marks, and apostrophes or hyphens between
    them ("Jan-Willem", "d'Ancona")."""
    while start > 0 and (
        _is_word_char(text[start - 1])
        or (text[start - 1] in _WORD_JOINERS and start > 1 and _is_word_char(text[start - 2]))
    ):
        start -= 1
    while end < len(text) and (
        _is_word_char(text[end])
        or (text[end] in _WORD_JOINERS and end + 1 < len(text) and _is_word_char(text[end + 1]))
    ):
        end += 1
    return start, end


def _merge(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sort, and merge spans that overlap, touch, or are separated only by whitespace."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and (start <= merged[-1][1] or text[merged[-1][1] : start].isspace()):
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


class NameFinder:
    """A local token-classification model that finds person names.

    ``spans(texts)`` returns, per text, the sorted, non-overlapping character spans ``(start,
    end)`` of person names: tokens whose most likely label is a person label, widened to whole
    words and merged when they touch or only whitespace separates them. Create it with
    `load_name_finder`. Thread-safe (one forward pass at a time); CPU only."""

    def __init__(
        self,
        name: str,
        tokenizer: Any,
        model: Any,
        person_ids: Sequence[int],
        max_length: int,
        *,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        if max_length < MIN_MAX_LENGTH:
            raise nlp.ModelConfigError(f"maximum sequence length {max_length} is too small")
        self.name = name
        self.person_ids = tuple(person_ids)
        self.max_length = max_length
        self.stride = max_length // 4  # tokens shared by consecutive windows of a long text
        self.batch_size = batch_size
        self._tokenizer = tokenizer
        self._model = model
        self._lock = threading.Lock()

    def spans(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        if isinstance(texts, str):
            raise TypeError("spans() takes a sequence of texts, not a single string")
        found: list[list[tuple[int, int]]] = [[] for _ in texts]
        todo = [i for i, text in enumerate(texts) if text.strip()]
        if not todo:
            return found
        import torch

        with self._lock, torch.inference_mode():
            encoded = self._tokenizer(
                [texts[i] for i in todo],
                truncation=True,
                max_length=self.max_length,
                stride=self.stride,
                return_overflowing_tokens=True,
                return_offsets_mapping=True,
                padding=True,
                return_tensors="pt",
            )
            offsets = encoded["offset_mapping"]
            windows = encoded["overflow_to_sample_mapping"].tolist()
            inputs = {key: encoded[key] for key in ("input_ids", "attention_mask", "token_type_ids") if key in encoded}
            person = torch.tensor(self.person_ids)
            for start in range(0, len(windows), self.batch_size):
                rows = slice(start, start + self.batch_size)
                logits = self._model(**{key: value[rows] for key, value in inputs.items()}).logits
                is_person = torch.isin(logits.argmax(dim=-1), person) & inputs["attention_mask"][rows].bool()
                for row, token in is_person.nonzero().tolist():
                    begin, end = offsets[start + row, token].tolist()
                    if end > begin:  # special tokens and padding have empty offsets
                        found[todo[windows[start + row]]].append((begin, end))
        return [_merge(text, [_widen(text, s, e) for s, e in spans]) for text, spans in zip(texts, found, strict=True)]

    def __repr__(self) -> str:
        return f"NameFinder(name={self.name!r}, person_ids={self.person_ids}, max_length={self.max_length})"


def _outside_placeholders(text: str, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of `spans` outside every ``[kind]`` placeholder, trimmed to start with a letter or
    digit and end with one (or a mark); parts without any are dropped."""
    blocked = [(m.start(), m.end()) for m in _PLACEHOLDER.finditer(text)]
    pieces: list[tuple[int, int]] = []
    for start, end in spans:
        cursor = start
        for b_start, b_end in blocked:
            if b_end <= cursor or b_start >= end:
                continue
            pieces.append((cursor, b_start))
            cursor = max(cursor, b_end)
        pieces.append((cursor, end))
    kept = []
    for start, end in pieces:
        while start < end and not text[start].isalnum():
            start += 1
        while end > start and not _is_word_char(text[end - 1]):
            end -= 1
        if start < end:
            kept.append((start, end))
    return kept


def scrub(text: str, finder: NameFinder | None) -> pii.ScrubResult:
    """`privacy.pii.scrub`, then the person names ``finder`` sees replaced by ``[name]``.

    Invariant: without a finder the result equals ``pii.scrub(text)``. With one, the result's
    text is ``pii.scrub(text).text`` with each person-name span (outside existing placeholders,
    merged when only whitespace separates them) replaced by ``[name]``, then scrubbed by
    `privacy.pii.scrub` again; it is therefore a fixpoint of `privacy.pii.scrub`, and ``found``
    holds every kind replaced, `PiiKind.NAME` included when the model replaced anything. An error
    in the model propagates: text is never returned with names the model was meant to remove."""
    first = pii.scrub(text)
    if finder is None:
        return first
    pieces = _outside_placeholders(first.text, finder.spans([first.text])[0])
    if not pieces:
        return first
    parts: list[str] = []
    done = 0
    for start, end in _merge(first.text, pieces):
        parts.append(first.text[done:start])
        parts.append(_NAME_PLACEHOLDER)
        done = end
    parts.append(first.text[done:])
    again = pii.scrub("".join(parts))
    return pii.ScrubResult(again.text, first.found | again.found | {pii.PiiKind.NAME})


def _fallback(path: Path | None, reason: str) -> tuple[NameFinder | None, NamesStatus]:
    if reason == "no model configured":
        log.debug("names: no name model (%s); names are found after trigger phrases only", reason)
    else:
        log.warning("names: no name model (%s); names are found after trigger phrases only", reason)
    return None, NamesStatus(model=None, path=str(path) if path is not None else None, reason=reason)


def load_name_finder(path: str | Path | None) -> tuple[NameFinder | None, NamesStatus]:
    """Load the NER model from the local directory ``path`` (offline, like
    `chatbot.nlp.load_embedder`), or return None (None or empty ``path``: "no model configured").
    Never raises: a missing or broken model, one whose checkpoint lacks the classification head,
    one without a person label or without a fast tokenizer gives None and a `NamesStatus` saying
    why."""
    try:
        with nlp.offline_transformers(path) as (model_dir, transformers):
            name = model_dir.resolve().name
            try:
                config = transformers.AutoConfig.from_pretrained(str(model_dir), local_files_only=True)
                person_ids = person_label_ids(config.id2label)
                tokenizer = transformers.AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
                if not getattr(tokenizer, "is_fast", False):
                    raise nlp.ModelConfigError("the tokenizer gives no character offsets (a fast tokenizer is needed)")
                model, info = transformers.AutoModelForTokenClassification.from_pretrained(
                    str(model_dir), config=config, local_files_only=True, use_safetensors=True, output_loading_info=True
                )
                if info.get("missing_keys") or info.get("mismatched_keys") or info.get("error_msgs"):
                    raise nlp.ModelConfigError("the checkpoint lacks weights the model needs")
                model.eval()
                finder = NameFinder(
                    name, tokenizer, model, person_ids, nlp._max_length(model_dir, tokenizer, model.config)
                )
                probe = finder.spans(["probe", "a second, longer probe sentence"])  # fail now, not on first use
                if len(probe) != 2:
                    raise nlp.ModelConfigError("the model produced no spans")
            except PersonLabelError as exc:
                return _fallback(model_dir, f"model failed to load: {exc}")
            except Exception as exc:  # anything at all: scrubbing falls back to privacy.pii alone
                log.warning("names: model at %s failed to load", model_dir, exc_info=True)
                return _fallback(model_dir, f"model failed to load: {exc.__class__.__name__}")
    except nlp.ModelUnavailable as exc:
        return _fallback(exc.path, exc.reason)
    log.info("names: loaded %s from %s (person labels %s)", name, model_dir, finder.person_ids)
    return finder, NamesStatus(model=name, path=str(model_dir), reason="loaded")
