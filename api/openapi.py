"""The OpenAPI document of the app, written for the mobile contract. Generated without a
database: the schema depends only on the routes."""

from __future__ import annotations

import json
from pathlib import Path

from api.settings import Settings


def openapi_document() -> dict[str, object]:
    from api.app import create_app

    app = create_app(Settings(secret_key=b"\x00" * 32))
    document: dict[str, object] = app.openapi_schema.to_schema()
    return document


def render() -> str:
    return json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_openapi(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(), encoding="utf-8")
