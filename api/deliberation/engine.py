"""Builds the deliberation engine from settings: its configuration and the language models
(sentence embeddings, toxicity, person names), each loaded once per process and each with a
documented fallback when absent."""

from __future__ import annotations

import functools

import asyncpg

from api.settings import Settings
from chatbot import names, nlp, toxicity
from chatbot.engine import Config, Engine

LEXICAL = "lexical"


@functools.lru_cache(maxsize=4)
def _toxicity(path: str | None) -> tuple[toxicity.ToxicityChecker, toxicity.ToxicityStatus]:
    return toxicity.load_toxicity(path)


@functools.lru_cache(maxsize=4)
def _names(path: str | None) -> tuple[names.NameFinder | None, names.NamesStatus]:
    return names.load_name_finder(path)


def build_engine(settings: Settings, pool: asyncpg.Pool | None = None) -> Engine:
    """STRAATSTEM_NLP_MODEL: a local model folder, "lexical" for the documented fallback only,
    or unset for the packaged all-MiniLM-L6-v2 when it is installed. STRAATSTEM_TOXICITY_MODEL
    and STRAATSTEM_NER_MODEL: optional local model folders; unset, the Dutch/English toxicity
    lexicon and the PII scrubber work alone."""
    embedder: nlp.Embedder
    if settings.nlp_model == LEXICAL:
        embedder, status = nlp.LexicalEmbedder(), nlp.NlpStatus(None, None, "lexical fallback configured")
    else:
        embedder, status = nlp.shared_embedder(settings.nlp_model)
    checker, toxicity_status = _toxicity(settings.toxicity_model)
    finder, names_status = _names(settings.ner_model)
    config = Config(
        group_min_size=settings.group_min_size,
        session_prompts=settings.session_prompts,
        recompute_votes=settings.recompute_votes,
        flag_threshold=settings.flag_threshold,
    )
    checks = {
        "nlp": describe(status),
        "toxicity": f"model {toxicity_status.model}"
        if toxicity_status.loaded
        else f"lexicon only ({toxicity_status.reason})",
        "names": f"model {names_status.model}" if names_status.loaded else f"PII scrubber only ({names_status.reason})",
    }
    return Engine(
        config=config,
        embedder=embedder,
        nlp_status=status,
        toxicity=checker,
        names=finder,
        model_checks=checks,
        pool=pool,
    )


def describe(status: nlp.NlpStatus) -> str:
    """One line for /readyz: the model in use, or the lexical fallback and why."""
    return f"model {status.model}" if status.model and status.loaded else f"lexical fallback ({status.reason})"
