"""docs/api.md is the API reference rendered from the OpenAPI schema, and stays so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from reclaim.api.docs import api_markdown
from reclaim.cli import app

API_DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"
REGENERATE = ".venv/bin/reclaim api-docs --output docs/api.md"
runner = CliRunner()


def _generated() -> str:
    result = runner.invoke(app, ["api-docs"])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_docs_api_md_is_what_the_command_generates() -> None:
    assert API_DOCS.exists(), f"docs/api.md is missing: run `{REGENERATE}`"
    assert API_DOCS.read_text(encoding="utf-8") == _generated(), (
        f"docs/api.md is out of date with the OpenAPI schema: run `{REGENERATE}`"
    )


def test_generated_docs_cover_every_operation_and_scope() -> None:
    text = _generated()
    assert text == _generated()  # deterministic
    assert "#### `POST /v1/match`" in text and "#### `GET /v1/banks/{name}/export`" in text
    assert "## Schemas" in text and "### BankCreate" in text
    # The scopes are read from the routes' dependencies: if that stops working, say so.
    assert "a key with the `match` scope" in text
    assert "a key with the `bank:write` scope" in text
    assert "Authentication: none." in text  # /v1/health and /v1/ready


def test_output_option_writes_the_file(tmp_path: Path) -> None:
    target = tmp_path / "api.md"
    result = runner.invoke(app, ["api-docs", "--output", str(target)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert target.read_text(encoding="utf-8") == _generated()
    result = runner.invoke(app, ["api-docs", "--output", str(tmp_path / "missing" / "api.md")])
    assert result.exit_code == 2 and "cannot write" in result.stderr


TINY: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Tiny", "version": "1.2", "description": "A tiny API.\n\nTwo paragraphs."},
    "paths": {
        "/things/{id}": {
            "get": {
                "tags": ["things"],
                "summary": "Read a thing",
                "security": [{"Bearer": []}],
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
                    {
                        "name": "fields",
                        "in": "query",
                        "required": False,
                        "description": "Pick | skip.",
                        "schema": {"type": "string", "maxLength": 10, "default": "all"},
                    },
                ],
                "responses": {
                    "404": {"description": "No such thing."},
                    "200": {
                        "description": "The thing.",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}
                        },
                    },
                },
            },
        },
        "/things": {
            "post": {
                "tags": ["things"],
                "summary": "Make a thing.",
                "security": [{"Bearer": []}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Thing"}},
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file"],
                                "properties": {
                                    "file": {"type": "string", "format": "binary"},
                                    "note": {"type": "string", "description": "Why."},
                                },
                            }
                        },
                    },
                },
                "responses": {"201": {"description": "Made."}},
            },
        },
        "/ping": {"get": {"responses": {"200": {"description": "Pong."}}}},
    },
    "components": {
        "schemas": {
            "Thing": {
                "type": "object",
                "description": "A thing.",
                "required": ["name"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "description": "Its name."},
                    "size": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}]},
                    "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 1},
                    "kind": {"$ref": "#/components/schemas/Kind"},
                    "ghost": {"$ref": "#/components/schemas/Ghost"},
                },
            },
            "Kind": {"type": "string", "enum": ["big", "small"]},
        },
        "securitySchemes": {"Bearer": {"type": "http", "scheme": "bearer"}},
    },
}

EXPECTED = """\
# Tiny API reference

<!-- Generated from the OpenAPI schema by `reclaim api-docs --output docs/api.md`; do not edit. -->

Version 1.2 · OpenAPI 3.1.0

A tiny API.

Two paragraphs.

## Authentication

- `Bearer`: send `Authorization: Bearer KEY`

Each operation below says whether it needs a key and, where known, the scope the key must \
hold. A missing or invalid key is answered 401, a key without the scope 403.

## Operations

### things

#### `GET /things/{id}`

Read a thing.

Authentication: `Bearer`, a key with the `read` scope.

Parameters:

| name | in | type | required | description |
|---|---|---|---|---|
| `id` | path | integer | yes |  |
| `fields` | query | string | no | Pick \\| skip. At most 10 characters. Default: `"all"`. |

Responses:

| status | description | body |
|---|---|---|
| 200 | The thing. | [Thing](#thing) |
| 404 | No such thing. |  |

#### `POST /things`

Make a thing.

Authentication: `Bearer`.

Request body (required, `application/json`): [Thing](#thing)

| field | type | required | description |
|---|---|---|---|
| `name` | string | yes | Its name. |
| `size` | integer or null | no | At least 0. |
| `tags` | array of string | no | At most 1 item. |
| `kind` | [Kind](#kind) | no |  |
| `ghost` | `Ghost` (missing from the schema) | no |  |

Other fields are refused.

Request body (required, `multipart/form-data`): object

| field | type | required | description |
|---|---|---|---|
| `file` | file | yes |  |
| `note` | string | no | Why. |

Responses:

| status | description | body |
|---|---|---|
| 201 | Made. |  |

### other

#### `GET /ping`

Authentication: none.

Responses:

| status | description | body |
|---|---|---|
| 200 | Pong. |  |

## Schemas

### Thing

A thing.

| field | type | required | description |
|---|---|---|---|
| `name` | string | yes | Its name. |
| `size` | integer or null | no | At least 0. |
| `tags` | array of string | no | At most 1 item. |
| `kind` | [Kind](#kind) | no |  |
| `ghost` | `Ghost` (missing from the schema) | no |  |

Other fields are refused.

### Kind

No fields. Type: one of `"big"`, `"small"`.
"""


def test_renderer_on_a_tiny_schema() -> None:
    text = api_markdown(TINY, {("GET", "/things/{id}"): "read"})
    assert text == EXPECTED
