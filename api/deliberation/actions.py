"""`straatstem actions`: serves the Rasa custom actions (chatbot/rasa_actions.py) with
rasa-sdk's own webhook app (POST /webhook, GET /actions, GET /health) on Sanic, on the same
database and engine configuration as the API. Listens on 127.0.0.1 unless told otherwise:
only the Rasa server needs to reach it."""

from __future__ import annotations

import contextlib
import logging
import uuid
from typing import Any

from api import db
from api.deliberation.engine import build_engine
from api.settings import Settings, SettingsError

log = logging.getLogger(__name__)


def default_discussion(settings: Settings) -> uuid.UUID | None:
    if settings.actions_discussion is None:
        return None
    try:
        return uuid.UUID(settings.actions_discussion)
    except ValueError:
        raise SettingsError("STRAATSTEM_ACTIONS_DISCUSSION must be a discussion id (a UUID)") from None


def serve(settings: Settings, host: str, port: int) -> None:
    from rasa_sdk.endpoint import create_app

    from chatbot import rasa_actions

    services = rasa_actions.Services(default_discussion=default_discussion(settings))
    app = create_app(rasa_actions.executor(services), cors_origins="")
    resources = contextlib.AsyncExitStack()

    async def start(_: Any) -> None:
        services.pool, _applied = await resources.enter_async_context(db.database(settings))
        services.engine = build_engine(settings, services.pool)
        log.info("actions: ready on %s:%d", host, port)

    async def stop(_: Any) -> None:
        if services.engine is not None:
            await services.engine.wait_recomputed()
        await resources.aclose()

    app.register_listener(start, "before_server_start")
    app.register_listener(stop, "after_server_stop")
    app.run(host=host, port=port, single_process=True, access_log=False, motd=False)
