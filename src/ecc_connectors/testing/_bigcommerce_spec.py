"""Checking requests sent to the fake BigCommerce store against BigCommerce's own OpenAPI files.

Theory of operation
-------------------
``BigCommerceSpec(spec_dir)`` loads ``orders.v2.oas2.yml`` and ``products_catalog.v3.yml`` (bigcommerce/docs,
copied byte for byte into ``../shared/specs/bigcommerce``) with openapi-core, once per process, and
:meth:`BigCommerceSpec.request_errors` lists every way one received request breaks them: an unknown path or
method, a query parameter of the wrong type or outside its enum, a body that does not fit its schema. Two
checks are added on top, because the files never say ``additionalProperties: false`` and openapi-core would
let a typo through: a query parameter the operation does not declare, and a body key the schema does not
declare, are both reported.

One reading of the spec is ours, written down here: ``GET /orders``'s ``sort`` is declared as an enum of field
names, and its description adds "To specify the direction, add ``:asc`` or ``:desc``". The direction suffix is
stripped before the enum is checked; the field itself must be in the enum.

openapi-core and PyYAML are test dependencies: they are imported when a spec is loaded, never by the fake
itself, so the fake runs without them (unchecked).
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ._openapi_request import OpenApiRequest, path_templates

__all__ = ["BigCommerceSpec", "load_spec"]

_HOST = "http://bigcommerce.test"
_FILES = {"v2": "orders.v2.oas2.yml", "v3": "products_catalog.v3.yml"}
_PATH = re.compile(r"^/stores/(?P<hash>[^/]+)/(?P<version>v2|v3)(?P<api>/.*)$")


class _Api:
    def __init__(self, spec: dict[str, Any], prefix: str) -> None:
        from openapi_core import Config, OpenAPI

        spec = dict(spec)
        spec["servers"] = [{"url": _HOST + prefix}]
        self.spec = spec
        # The vendor file is fixed: validating the spec itself costs time and finds nothing new.
        self.api = OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))
        self.routes = path_templates(spec["paths"])

    def resolve(self, node: Any) -> Any:
        seen = 0
        while isinstance(node, Mapping) and "$ref" in node and seen < 30:
            target: Any = self.spec
            for part in node["$ref"][2:].split("/"):
                target = target[part]
            node = target
            seen += 1
        return node

    def operation(self, method: str, api_path: str) -> tuple[str, Mapping[str, Any], Mapping[str, Any]] | None:
        for pattern, template in self.routes:
            if pattern.match(api_path):
                item = self.spec["paths"][template]
                operation = item.get(method.lower())
                if operation is not None:
                    return template, item, operation
                return template, item, {}
        return None

    def properties(self, schema: Any) -> dict[str, Any] | None:
        """The declared keys of an object schema (``allOf`` merged); ``None`` when it does not say."""
        schema = self.resolve(schema)
        if not isinstance(schema, Mapping):
            return None
        found: dict[str, Any] = {}
        said = False
        for part in schema.get("allOf", ()):
            more = self.properties(part)
            if more is not None:
                found |= more
                said = True
        if "properties" in schema:
            found |= dict(schema["properties"])
            said = True
        if schema.get("anyOf") or schema.get("oneOf") or schema.get("additionalProperties"):
            return None
        return found if said else None


class BigCommerceSpec:
    """BigCommerce's orders v2 and catalog v3 OpenAPI files, with :meth:`request_errors`."""

    def __init__(self, spec_dir: str | Path) -> None:
        import yaml  # type: ignore[import-untyped, unused-ignore]

        folder = Path(spec_dir)
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        self._apis: dict[str, _Api] = {}
        for version, name in _FILES.items():
            with (folder / name).open(encoding="utf-8") as handle:
                document = yaml.load(handle, Loader=loader)  # a safe loader, chosen above
            self._apis[version] = _Api(document, f"/stores/{{store_hash}}/{version}")
        self._lock = threading.Lock()
        self._seen: dict[tuple[Any, ...], tuple[str, ...]] = {}

    def spec(self, version: str) -> dict[str, Any]:
        """The loaded document (``"v2"`` orders, ``"v3"`` catalog)."""
        return self._apis[version].spec

    def request_errors(
        self,
        method: str,
        path: str,
        query: Iterable[tuple[str, str]],
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> list[str]:
        """Every way the request breaks the spec (empty when it fits)."""
        query = list(query)
        lowered = {k.lower(): v for k, v in (headers or {}).items()}
        match = _PATH.match(path)
        if match is None:
            return [f"{method} {path}: not a BigCommerce API path (/stores/<hash>/v2|v3/...)"]
        api = self._apis[match.group("version")]
        found = api.operation(method, match.group("api"))
        if found is None:
            return [f"{method} {path}: path not in the {match.group('version')} spec"]
        template, item, operation = found
        if not operation:
            return [f"{method} {template}: method not allowed by the spec"]
        key = (method.upper(), template, match.group("version"), self._shape(api, item, operation, query), body)
        with self._lock:
            known = self._seen.get(key)
        if known is not None:
            return list(known)
        errors: list[str] = []
        checked = [
            (name, value.partition(":")[0]) if name == "sort" and match.group("version") == "v2" else (name, value)
            for name, value in query
        ]
        with self._lock:
            for error in api.api.iter_request_errors(
                OpenApiRequest(method, _HOST, path, checked, lowered, body or None)
            ):
                errors.append(_describe(error))
        declared = {
            api.resolve(p)["name"]
            for p in [*item.get("parameters", ()), *operation.get("parameters", ())]
            if api.resolve(p).get("in") == "query"
        }
        errors += [f"query parameter {name!r} is not declared" for name, _ in query if name not in declared]
        if body:
            try:
                payload = json.loads(body)
            except ValueError:
                errors.append("the body is not JSON")
            else:
                content = api.resolve(operation.get("requestBody", {})).get("content", {}).get("application/json")
                if content is not None:
                    errors += _undeclared(api, payload, content.get("schema"), "body")
        found_errors = [f"{method} {template}: {e}" for e in dict.fromkeys(errors)]
        with self._lock:
            if len(self._seen) < 50_000:
                self._seen[key] = tuple(found_errors)
        return found_errors

    @staticmethod
    def _shape(
        api: _Api, item: Mapping[str, Any], operation: Mapping[str, Any], query: Sequence[tuple[str, str]]
    ) -> tuple[tuple[str, str], ...]:
        """The query as the checks see it: the value of a free-text parameter (a string with no enum, format,
        pattern or length) cannot break the spec, and any integer is as good as another for an integer without
        bounds or enum, so such values are left out of the cache key. openapi-core takes ~20-70 ms a request on
        this spec; a listing's requests differ only in such values, so each shape is checked once."""
        schemas: dict[str, Mapping[str, Any]] = {}
        for parameter in [*item.get("parameters", ()), *operation.get("parameters", ())]:
            parameter = api.resolve(parameter)
            if parameter.get("in") == "query":
                schemas[parameter["name"]] = api.resolve(parameter.get("schema", {}))
        shaped: list[tuple[str, str]] = []
        for name, value in query:
            schema = schemas.get(name)
            if schema is not None and not set(schema) & {
                "enum",
                "format",
                "pattern",
                "minLength",
                "maxLength",
                "minimum",
                "maximum",
                "items",
            }:
                if schema.get("type") == "string":
                    value = "<text>"
                elif schema.get("type") in ("integer", "number") and re.fullmatch(r"-?\d+", value):
                    value = "<integer>"
            shaped.append((name, value))
        return tuple(shaped)


def _undeclared(api: _Api, value: Any, schema: Any, where: str) -> list[str]:
    schema = api.resolve(schema)
    if isinstance(value, Mapping):
        properties = api.properties(schema)
        if properties is None:
            return []
        errors: list[str] = []
        for key, item in value.items():
            if key not in properties:
                errors.append(f"{where}: key {key!r} is not declared by the schema")
            else:
                errors += _undeclared(api, item, properties[key], f"{where}.{key}")
        return errors
    if isinstance(value, list) and isinstance(schema, Mapping) and isinstance(schema.get("items"), Mapping):
        items = api.resolve(schema["items"])
        if items.get("anyOf") or items.get("oneOf"):
            return []
        return [e for i, v in enumerate(value) for e in _undeclared(api, v, items, f"{where}[{i}]")]
    return []


def _describe(error: BaseException) -> str:
    cause = error.__cause__
    detail = ""
    if cause is not None:
        inner = getattr(cause, "schema_errors", None)
        detail = "; ".join(getattr(e, "message", str(e)) for e in inner) if inner else str(cause)
    return f"{type(error).__name__}: {error}" + (f" ({detail})" if detail else "")


@functools.lru_cache(maxsize=4)
def load_spec(spec_dir: str) -> BigCommerceSpec:
    """The spec files of ``spec_dir``, loaded once per process."""
    return BigCommerceSpec(spec_dir)
