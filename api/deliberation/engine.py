"""Builds the deliberation engine from settings: its configuration and the sentence model."""

from __future__ import annotations

import asyncpg

from api.settings import Settings
from chatbot import nlp
from chatbot.engine import Config, Engine

LEXICAL = "lexical"


def build_engine(settings: Settings, pool: asyncpg.Pool | None = None) -> Engine:
    """STRAATSTEM_NLP_MODEL: a local model folder, "lexical" for the documented fallback only,
    or unset for the packaged all-MiniLM-L6-v2 when it is installed. The model is loaded once
    per process."""
    embedder: nlp.Embedder
    if settings.nlp_model == LEXICAL:
        embedder, status = nlp.LexicalEmbedder(), nlp.NlpStatus(None, None, "lexical fallback configured")
    else:
        embedder, status = nlp.shared_embedder(settings.nlp_model)
    config = Config(
        group_min_size=settings.group_min_size,
        session_prompts=settings.session_prompts,
        recompute_votes=settings.recompute_votes,
        flag_threshold=settings.flag_threshold,
    )
    return Engine(config=config, embedder=embedder, nlp_status=status, pool=pool)


def describe(status: nlp.NlpStatus) -> str:
    """One line for /readyz: the model in use, or the lexical fallback and why."""
    return f"model {status.model}" if status.model and status.loaded else f"lexical fallback ({status.reason})"
