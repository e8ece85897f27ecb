"""Tiny random BERT models, saved to a folder like real ones, for loading through production code.

Each builder writes a 30-word WordPiece vocabulary, a tokenizer and a 2-layer BERT (hidden 32)
in safetensors. The classification builders can fix the classifier head (zero weights and a
chosen bias), so that the model's output is known whatever the random encoder computes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

TINY_VOCAB = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    "meer", "licht", "in", "het", "park", "er", "moet", "komen", "de", "bij", "station", "politie",
    "school", "les", "more", "light", "police", "the", "at", "night", "##en", "##s", "!", ".", ",",
]  # fmt: skip


def _tiny_config(max_positions: int, **extra: Any) -> Any:
    from transformers import BertConfig

    return BertConfig(
        vocab_size=len(TINY_VOCAB),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=max_positions,
        **extra,
    )


def _write_tokenizer(folder: Path) -> None:
    from transformers import BertTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(TINY_VOCAB) + "\n", encoding="utf-8")
    # Positional on purpose: the first parameter is `vocab_file` in transformers 4 and `vocab` (a
    # path or a dict) in 5, which silently ignores a `vocab_file=` keyword (every token is [UNK]).
    BertTokenizer(str(vocab)).save_pretrained(str(folder))


def build_tiny_model(folder: Path, *, max_positions: int = 64, seed: int = 0) -> Path:
    """A random 2-layer BERT (hidden 32) with a 30-word vocabulary, saved like a real model."""
    import torch
    from transformers import BertModel

    _write_tokenizer(folder)
    torch.manual_seed(seed)
    BertModel(_tiny_config(max_positions)).save_pretrained(str(folder))
    return folder


def _fix_head(classifier: Any, bias: Sequence[float] | None) -> None:
    """Zero weights and the given bias: every input gets the logits ``bias``."""
    import torch

    if bias is None:
        return
    if len(bias) != classifier.out_features:
        raise ValueError(f"bias has {len(bias)} values for {classifier.out_features} labels")
    with torch.no_grad():
        classifier.weight.zero_()
        classifier.bias.copy_(torch.tensor(list(bias), dtype=classifier.bias.dtype))


def build_tiny_classifier(
    folder: Path,
    id2label: Mapping[int, str],
    *,
    bias: Sequence[float] | None = None,
    problem_type: str | None = None,
    max_positions: int = 64,
    seed: int = 0,
) -> Path:
    """A random BertForSequenceClassification with labels ``id2label``.

    With ``bias`` the classifier has zero weights and that bias, so every text gets exactly
    those logits (softmax or, for ``problem_type="multi_label_classification"``, sigmoid)."""
    import torch
    from transformers import BertForSequenceClassification

    _write_tokenizer(folder)
    torch.manual_seed(seed)
    labels = {int(k): v for k, v in id2label.items()}
    config = _tiny_config(
        max_positions,
        num_labels=len(labels),
        id2label=labels,
        label2id={v: k for k, v in labels.items()},
        problem_type=problem_type,
    )
    model = BertForSequenceClassification(config)
    _fix_head(model.classifier, bias)
    model.save_pretrained(str(folder))
    return folder


def build_tiny_tagger(
    folder: Path,
    id2label: Mapping[int, str],
    *,
    bias: Sequence[float] | None = None,
    max_positions: int = 64,
    seed: int = 0,
) -> Path:
    """A random BertForTokenClassification with labels ``id2label``; with ``bias`` every token
    gets exactly those logits (zero classifier weights)."""
    import torch
    from transformers import BertForTokenClassification

    _write_tokenizer(folder)
    torch.manual_seed(seed)
    labels = {int(k): v for k, v in id2label.items()}
    config = _tiny_config(
        max_positions, num_labels=len(labels), id2label=labels, label2id={v: k for k, v in labels.items()}
    )
    model = BertForTokenClassification(config)
    _fix_head(model.classifier, bias)
    model.save_pretrained(str(folder))
    return folder
