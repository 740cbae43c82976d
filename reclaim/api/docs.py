"""The API reference in Markdown, rendered from the service's OpenAPI schema.

``api_markdown(create_app(settings).openapi())`` gives the text of ``docs/api.md``
(``reclaim api-docs`` writes it). The output depends only on the schema, so the same
schema always gives the same text.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIRouter
from starlette.routing import BaseRoute

from reclaim.keys import Scope

JSON: Final = "application/json"
MULTIPART: Final = "multipart/form-data"
METHODS: Final = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
UNTAGGED: Final = "other"
ANY_KEY: Final = ""  # in a scope map: any valid key, whatever its scopes

Schema = Mapping[str, Any]
ScopeMap = Mapping[tuple[str, str], str]


def api_markdown(schema: Schema, scopes: ScopeMap | None = None) -> str:
    """Markdown describing every operation and schema component of an OpenAPI schema.

    ``scopes`` maps ``(METHOD, path)`` to the scope an operation's key needs (``""`` for
    any valid key); see ``operation_scopes``. Operations it does not name get no scope line.
    """
    out = _Writer(schema, scopes or {})
    out.header()
    out.operations()
    out.components()
    return out.text()


def operation_scopes(app: FastAPI) -> dict[tuple[str, str], str]:
    """The scope each operation of a Reclaim app requires of the caller's key, found from
    the ``require(scope)`` dependency of its route (``""``: any valid key)."""
    return dict(_route_scopes(app.routes, ""))


def _route_scopes(
    routes: Iterable[BaseRoute], prefix: str
) -> Iterator[tuple[tuple[str, str], str]]:
    for route in routes:
        if isinstance(route, APIRoute):
            scope = _required_scope(route.dependant)
            if scope is not None:
                for method in sorted(route.methods or ()):
                    yield (method.upper(), prefix + route.path_format), scope
            continue
        # FastAPI 0.120 and later keep an included router whole, behind a route of its own.
        included = getattr(route, "original_router", None)
        if isinstance(included, APIRouter):
            context = getattr(route, "include_context", None)
            yield from _route_scopes(included.routes, prefix + getattr(context, "prefix", ""))


def _required_scope(dependant: Dependant) -> str | None:
    for dependency in dependant.dependencies:
        call = dependency.call
        if call is not None and getattr(call, "__qualname__", "").startswith("require."):
            nonlocals = inspect.getclosurevars(call).nonlocals
            if "scope" in nonlocals:
                scope = nonlocals["scope"]
                return scope.value if isinstance(scope, Scope) else ANY_KEY
        inner = _required_scope(dependency)
        if inner is not None:
            return inner
    return None


# --- rendering -------------------------------------------------------------------------


class _Writer:
    def __init__(self, schema: Schema, scopes: ScopeMap) -> None:
        self.schema = schema
        self.scopes = scopes
        self.schemas: Mapping[str, Any] = schema.get("components", {}).get("schemas", {})
        self.schemes: Mapping[str, Any] = schema.get("components", {}).get("securitySchemes", {})
        self.lines: list[str] = []

    def text(self) -> str:
        while self.lines and not self.lines[-1]:
            self.lines.pop()
        return "\n".join(self.lines) + "\n"

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def paragraph(self, text: str) -> None:
        if text.strip():
            self.add(*text.strip().splitlines(), "")

    # --- the parts ---

    def header(self) -> None:
        info = self.schema.get("info", {})
        self.add(f"# {info.get('title', 'API')} API reference", "")
        self.add(
            "<!-- Generated from the OpenAPI schema by `reclaim api-docs --output docs/api.md`;"
            " do not edit. -->",
            "",
        )
        facts = [f"Version {info.get('version', '?')}"]
        if "openapi" in self.schema:
            facts.append(f"OpenAPI {self.schema['openapi']}")
        self.add(" · ".join(facts), "")
        self.paragraph(str(info.get("description", "")))
        self.add("## Authentication", "")
        if not self.schemes:
            self.add("The schema defines no authentication: every operation is open.", "")
            return
        for name, scheme in self.schemes.items():
            line = f"- `{name}`: {_scheme_summary(scheme)}"
            if scheme.get("description"):
                line += f" — {_one_line(scheme['description'])}"
            self.add(line)
        self.add(
            "",
            "Each operation below says whether it needs a key and, where known, the scope the "
            "key must hold. A missing or invalid key is answered 401, a key without the scope "
            "403.",
            "",
        )

    def operations(self) -> None:
        self.add("## Operations", "")
        groups = self._grouped()
        for tag, operations in groups.items():
            self.add(f"### {tag}", "")
            description = self._tag_description(tag)
            if description:
                self.paragraph(description)
            for method, path, operation in operations:
                self.operation(method, path, operation)

    def components(self) -> None:
        self.add("## Schemas", "")
        if not self.schemas:
            self.add("The schema defines no components.", "")
            return
        for name, component in self.schemas.items():
            self.add(f"### {name}", "")
            self.paragraph(str(component.get("description", "")))
            self.fields(component, empty="No fields.")

    # --- operations ---

    def _grouped(self) -> dict[str, list[tuple[str, str, Schema]]]:
        groups: dict[str, list[tuple[str, str, Schema]]] = {
            str(tag["name"]): [] for tag in self.schema.get("tags", []) if "name" in tag
        }
        for path, item in self.schema.get("paths", {}).items():
            for method in item:
                if method not in METHODS:
                    continue
                operation = item[method]
                tags = operation.get("tags") or [UNTAGGED]
                groups.setdefault(str(tags[0]), []).append((method.upper(), path, operation))
        return {tag: operations for tag, operations in groups.items() if operations}

    def _tag_description(self, name: str) -> str:
        for tag in self.schema.get("tags", []):
            if tag.get("name") == name:
                return str(tag.get("description", ""))
        return ""

    def operation(self, method: str, path: str, operation: Schema) -> None:
        self.add(f"#### `{method} {path}`", "")
        if operation.get("summary"):
            self.add(_sentence(operation["summary"]), "")
        if operation.get("deprecated"):
            self.add("**Deprecated.**", "")
        self.paragraph(str(operation.get("description", "")))
        self.add(f"Authentication: {self._auth(method, path, operation)}", "")
        self.parameters(operation.get("parameters", []))
        if "requestBody" in operation:
            self.request_body(operation["requestBody"])
        self.responses(operation.get("responses", {}))

    def _auth(self, method: str, path: str, operation: Schema) -> str:
        requirements = operation.get("security", self.schema.get("security", []))
        names = [name for requirement in requirements for name in requirement]
        if not names:
            return "none."
        text = " or ".join(f"`{name}`" for name in dict.fromkeys(names))
        scope = self.scopes.get((method, path))
        if scope is None:
            return f"{text}."
        if scope == ANY_KEY:
            return f"{text}, any valid key."
        return f"{text}, a key with the `{scope}` scope."

    def parameters(self, parameters: Iterable[Schema]) -> None:
        rows = []
        for parameter in parameters:
            resolved = self.resolve(parameter)
            schema = resolved.get("schema", {})
            rows.append(
                [
                    f"`{resolved.get('name', '?')}`",
                    str(resolved.get("in", "?")),
                    self.type_of(schema),
                    "yes" if resolved.get("required") else "no",
                    _describe(resolved.get("description") or schema.get("description"), schema),
                ]
            )
        if rows:
            self.add("Parameters:", "")
            self.table(["name", "in", "type", "required", "description"], rows)

    def request_body(self, body: Schema) -> None:
        body = self.resolve(body)
        required = "required" if body.get("required") else "optional"
        content: Mapping[str, Any] = body.get("content", {})
        if not content:
            self.add(f"Request body ({required}): none described.", "")
            return
        for media_type, media in content.items():
            schema = media.get("schema", {})
            self.add(f"Request body ({required}, `{media_type}`): {self.type_of(schema)}", "")
            self.paragraph(str(body.get("description", "")))
            self.fields(self.resolve(schema), empty="")

    def responses(self, responses: Mapping[str, Any]) -> None:
        if not responses:
            return
        self.add("Responses:", "")
        rows = []
        for status in sorted(responses, key=_status_order):
            response = self.resolve(responses[status])
            bodies = [
                f"{self.type_of(media.get('schema', {}))} (`{media_type}`)"
                if media_type != JSON
                else self.type_of(media.get("schema", {}))
                for media_type, media in response.get("content", {}).items()
            ]
            rows.append(
                [f"{status}", _one_line(response.get("description", "")), ", ".join(bodies)]
            )
        self.table(["status", "description", "body"], rows)

    # --- schemas ---

    def fields(self, schema: Schema, empty: str) -> None:
        properties: Mapping[str, Any] = schema.get("properties", {})
        if not properties:
            if empty:
                self.add(f"{empty} Type: {self.type_of(schema)}.", "")
            return
        required = set(schema.get("required", []))
        rows = [
            [
                f"`{name}`",
                self.type_of(field),
                "yes" if name in required else "no",
                _describe(field.get("description"), field),
            ]
            for name, field in properties.items()
        ]
        self.table(["field", "type", "required", "description"], rows)
        if schema.get("additionalProperties") is False:
            self.add("Other fields are refused.", "")

    def resolve(self, node: Schema) -> Schema:
        """``node`` with a local ``$ref`` followed (to an empty object if it dangles)."""
        seen: set[str] = set()
        while isinstance(node, Mapping) and "$ref" in node:
            ref = str(node["$ref"])
            if ref in seen or not ref.startswith("#/"):
                return {}
            seen.add(ref)
            target: Any = self.schema
            for escaped in ref[2:].split("/"):
                part = escaped.replace("~1", "/").replace("~0", "~")
                target = target.get(part) if isinstance(target, Mapping) else None
            if not isinstance(target, Mapping):
                return {}
            node = target
        return node

    def type_of(self, schema: Schema) -> str:
        """A short Markdown description of a JSON schema's type."""
        if "$ref" in schema:
            ref = str(schema["$ref"])
            name = ref.rsplit("/", 1)[-1]
            if ref.startswith("#/components/schemas/") and name in self.schemas:
                return f"[{name}](#{_anchor(name)})"
            return f"`{name}` (missing from the schema)"
        for combiner, joiner in (("anyOf", " or "), ("oneOf", " or "), ("allOf", " and ")):
            if combiner in schema:
                parts = [self.type_of(part) for part in schema[combiner]]
                return joiner.join(dict.fromkeys(parts))
        if "const" in schema:
            return f"`{json.dumps(schema['const'])}`"
        if "enum" in schema:
            return "one of " + ", ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
        return self._kind(schema)

    def _kind(self, schema: Schema) -> str:
        kind = schema.get("type")
        if isinstance(kind, list):
            return " or ".join(self.type_of({**schema, "type": k}) for k in kind)
        if kind == "array":
            items = schema.get("items")
            return f"array of {self.type_of(items)}" if items else "array"
        if kind == "object" or (kind is None and "properties" in schema):
            extra = schema.get("additionalProperties")
            if isinstance(extra, Mapping) and extra and not schema.get("properties"):
                return f"object of {self.type_of(extra)}"
            return "object"
        return _scalar(schema)

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        self.add("| " + " | ".join(header) + " |", "|" + "---|" * len(header))
        for row in rows:
            self.add("| " + " | ".join(_cell(value) for value in row) + " |")
        self.add("")


def _scalar(schema: Schema) -> str:
    kind = schema.get("type")
    if kind is None:
        return "any"
    if kind == "string" and (schema.get("format") == "binary" or "contentMediaType" in schema):
        return "file"
    return f"{kind} ({schema['format']})" if "format" in schema else str(kind)


def _scheme_summary(scheme: Schema) -> str:
    kind = scheme.get("type")
    if kind == "http" and str(scheme.get("scheme", "")).lower() == "bearer":
        return "send `Authorization: Bearer KEY`"
    if kind == "http":
        return f"HTTP `{scheme.get('scheme', '?')}` authentication"
    if kind == "apiKey":
        return f"send the key in the {scheme.get('in', '?')} `{scheme.get('name', '?')}`"
    return f"`{kind}`"


_CONSTRAINTS: Final = (
    ("minLength", "at least {} character"),
    ("maxLength", "at most {} character"),
    ("pattern", "matching `{}`"),
    ("minimum", "at least {}"),
    ("exclusiveMinimum", "over {}"),
    ("maximum", "at most {}"),
    ("exclusiveMaximum", "under {}"),
    ("minItems", "at least {} item"),
    ("maxItems", "at most {} item"),
)


def _constraints(schema: Schema) -> Iterator[str]:
    for key, template in _CONSTRAINTS:
        if key in schema:
            value = schema[key]
            text = template.format(_number(value) if key != "pattern" else value)
            yield text + "s" if text.endswith(("character", "item")) and value != 1 else text
    for part in schema.get("anyOf", []):
        yield from _constraints(part)
    items = schema.get("items")
    if isinstance(items, Mapping):
        yield from (f"each {text}" for text in _constraints(items))


def _number(value: object) -> str:
    """A JSON number as written in the schema (``0`` rather than Python's ``0.0``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _describe(description: object, schema: Schema) -> str:
    parts = [_one_line(str(description))] if description else []
    limits = "; ".join(dict.fromkeys(_constraints(schema)))
    if limits:
        parts.append(f"{limits[0].upper()}{limits[1:]}.")
    if "default" in schema:
        parts.append(f"Default: `{json.dumps(schema['default'])}`.")
    return " ".join(parts)


def _sentence(text: str) -> str:
    text = _one_line(text)
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _cell(text: str) -> str:
    return _one_line(text).replace("|", "\\|")


def _anchor(name: str) -> str:
    """The anchor GitHub gives a heading of this text."""
    return re.sub(r"[^\w\- ]", "", name.lower()).replace(" ", "-")


def _status_order(status: str) -> tuple[int, str]:
    return (int(status), status) if status.isdigit() else (1000, status)
