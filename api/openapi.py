"""The mobile contract's generated files: the OpenAPI document and the test vectors.

`straatstem openapi` writes them into mobile-contract/; tests/api/test_contract.py fails when
the committed files differ from what the code generates, so the contract cannot drift.
Vectors are deterministic (fixed keys, salts and numbers) so app developers can use them as
unit-test fixtures in Kotlin, Swift or JavaScript.

Also the two places where Litestar's generated document would say something the server does
not do (`ArrayLikeStructs`, `alternative_media`); tests/api/test_schemathesis.py checks every
answer of a live server against the document.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.plugins import OpenAPISchemaPlugin
from litestar.typing import FieldDefinition

from api.settings import Settings

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator

VECTOR_KEY = bytes(range(32))  # published test key; never a real deployment's key


class ArrayLikeStructs(OpenAPISchemaPlugin):
    """msgspec Structs with `array_like=True` (such as aggregation.views.Interval) travel as
    JSON arrays; Litestar documents every Struct as an object. This plugin documents them as
    the arrays they are: one `prefixItems` entry per field, in field order."""

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        annotation = field_definition.annotation
        return (
            isinstance(annotation, type)
            and issubclass(annotation, msgspec.Struct)
            and bool(annotation.__struct_config__.array_like)
        )

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        fields = msgspec.structs.fields(field_definition.annotation)
        items = [schema_creator.for_field_definition(FieldDefinition.from_annotation(f.type)) for f in fields]
        return Schema(
            type=OpenAPIType.ARRAY,
            prefix_items=items,
            min_items=len(items),
            max_items=len(items),
            description="[" + ", ".join(f.name for f in fields) + "]",
        )


def alternative_media(status: int, media: dict[str, Schema]) -> type[Operation]:
    """An operation class for a route whose `status` answer comes in more than one media type
    (a report as JSON, CSV or HTML; an export as CSV or GeoJSON): Litestar's ResponseSpec
    documents one, this adds the others to the same response."""

    @dataclass
    class AlternativeMedia(Operation):
        def __post_init__(self) -> None:
            response = (self.responses or {}).get(str(status))
            if isinstance(response, OpenAPIResponse):
                response.content = response.content or {}
                for media_type, schema in media.items():
                    response.content.setdefault(media_type, OpenAPIMediaType(schema=schema))

    return AlternativeMedia


TEXT = Schema(type=OpenAPIType.STRING)


def openapi_document() -> dict[str, Any]:
    from api.app import create_app

    app = create_app(Settings(secret_key=b"\x00" * 32))
    document: dict[str, Any] = app.openapi_schema.to_schema()
    return document


def cell_vectors() -> dict[str, Any]:
    from privacy import location

    points = [
        ("Den Haag Centraal", 52.0809, 4.3250),
        ("Plein, Den Haag", 52.0797, 4.3131),
        ("Amsterdam Centraal", 52.3791, 4.9003),
        ("Leidseplein", 52.3641, 4.8828),
        ("Almere Centrum", 52.3748, 5.2176),
        ("Maastricht Vrijthof", 50.8489, 5.6887),
        ("Groningen Grote Markt", 53.2188, 6.5680),
        ("near a cell edge", 52.08, 4.32),
    ]
    return {
        "description": "Latitude/longitude (WGS84) to the H3 resolution-9 cell a report must carry. "
        "Compute this on the device (h3-js latLngToCell, h3-java latLngToCellAddress, "
        "Uber H3 for Swift); send only the cell.",
        "h3_version": "4.x",
        "resolution": location.REPORT_RESOLUTION,
        "cases": [
            {
                "name": name,
                "lat": lat,
                "lng": lng,
                "cell": location.cell_hex(location.snap(lat, lng)),
                "parent_res8": location.cell_hex(location.parent(location.snap(lat, lng), 8)),
                "boundary_lng_lat": [
                    [round(x, 7) for x in p] for p in location.cell_boundary_geojson(location.snap(lat, lng))
                ],
            }
            for name, lat, lng in points
        ],
    }


def pow_vectors() -> dict[str, Any]:
    from privacy import pow as pow_

    expires = 4102444800  # 2100-01-01, so the vectors stay valid
    cases = []
    for nonce, number, max_number in (
        ("5f8e0c2a9b1d4e7f3a6c8b0d", 1234, 50_000),
        ("0a1b2c3d4e5f60718293a4b5", 31_337, 50_000),
        ("c0ffeec0ffeec0ffeec0ffee", 7, 1_000),
    ):
        made = pow_.create_challenge(VECTOR_KEY, max_number, 0, now=expires, number=number, nonce=nonce)
        challenge = {
            "algorithm": made.algorithm,
            "challenge": made.challenge,
            "maxnumber": made.max_number,
            "salt": made.salt,
            "signature": made.signature,
        }
        encoded = pow_.encode_payload(made, number)
        pow_.verify(VECTOR_KEY, encoded, now=expires - 1000)  # the vector must verify
        cases.append({"challenge": challenge, "solution_number": number, "x_altcha": encoded})
    return {
        "description": "ALTCHA v1 proof-of-work. Solve: find number n in [0, maxnumber] with "
        "hex(SHA-256(salt + str(n))) == challenge. Send base64(JSON of algorithm, challenge, "
        "number, salt, signature) in the X-Altcha header. The server checks "
        "signature == hex(HMAC-SHA-256(key, challenge)) and that 'expires' in the salt "
        "(unix seconds) has not passed, and accepts each solved challenge once.",
        "hmac_key_hex_for_these_vectors_only": VECTOR_KEY.hex(),
        "cases": cases,
    }


def submission_vectors() -> dict[str, Any]:
    body = {
        "submission_id": "0b7e6f0a-4c4e-4d6a-9a43-5b8f2f3f9b01",
        "receipt": "9f86d081884c7d659a2feaa0c55ad015",
        "cell": "89196b84e8bffff",  # Den Haag Centraal area
        "category": "verbal",
        "role": "victim",
        "band": "evening",
        "felt_safety": 2,
        "description": "Two men shouted after me near the tram stop.",
        "language": "en",
    }
    created = {
        "id": "<server-chosen UUIDv4>",
        "municipality": "den-haag",
        "cell": body["cell"],
        "month": "<YYYY-MM of receipt>",
    }
    return {
        "description": "A full submission and its idempotent retry. The receipt here is only an example: "
        "generate 16+ random bytes per report with a CSPRNG and keep them on the device.",
        "steps": [
            {
                "request": {"method": "GET", "path": "/v1/challenge"},
                "response": {
                    "status": 200,
                    "body_fields": ["algorithm", "challenge", "maxnumber", "salt", "signature"],
                },
            },
            {
                "request": {
                    "method": "POST",
                    "path": "/v1/reports",
                    "headers": {"Content-Type": "application/json", "X-Altcha": "<solved challenge>"},
                    "body": body,
                },
                "response": {"status": 201, "body": created},
            },
            {
                "note": "The response was lost (timeout). Retry with the SAME body and submission_id and a fresh "
                "solved challenge.",
                "request": {
                    "method": "POST",
                    "path": "/v1/reports",
                    "headers": {"Content-Type": "application/json", "X-Altcha": "<new solved challenge>"},
                    "body": body,
                },
                "response": {
                    "status": 200,
                    "body": created,
                    "note": "same id as the first response; nothing new stored",
                },
            },
            {
                "note": "Reusing the submission_id for a different report is refused.",
                "request": {"method": "POST", "path": "/v1/reports", "body": {**body, "category": "threat"}},
                "response": {
                    "status": 409,
                    "content_type": "application/problem+json",
                    "body_fields": ["type", "title", "status", "detail"],
                },
            },
            {
                "request": {
                    "method": "GET",
                    "path": "/v1/reports/<id>",
                    "headers": {"Authorization": f"Receipt {body['receipt']}"},
                },
                "response": {
                    "status": 200,
                    "body_fields": [
                        "id",
                        "municipality",
                        "cell",
                        "month",
                        "category",
                        "role",
                        "band",
                        "felt_safety",
                        "has_description",
                        "status",
                    ],
                },
            },
            {
                "request": {
                    "method": "DELETE",
                    "path": "/v1/reports/<id>",
                    "headers": {"Authorization": f"Receipt {body['receipt']}"},
                },
                "response": {"status": 204},
            },
            {
                "note": "After withdrawal a late retry from the offline queue is answered 410: drop it.",
                "request": {"method": "POST", "path": "/v1/reports", "body": body},
                "response": {"status": 410, "content_type": "application/problem+json"},
            },
        ],
    }


def generated_files() -> dict[str, str]:
    def dump(value: Any) -> str:
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    return {
        "openapi.json": dump(openapi_document()),
        "vectors/cells.json": dump(cell_vectors()),
        "vectors/proof-of-work.json": dump(pow_vectors()),
        "vectors/submission.json": dump(submission_vectors()),
    }


def write_contract(folder: Path) -> list[Path]:
    written = []
    for name, text in generated_files().items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
