"""Check Magento REST requests against Adobe's published admin schema (2.4.8, OpenAPI 3 conversion).

``validate_request(httpx.Request)`` and ``validate_raw(method, path, query, headers, body)`` raise
``AssertionError`` listing every problem; ``request_errors(...)`` returns the list instead.

openapi-core checks the path, the method, path and declared query parameters and the JSON body against the
schema. Adobe's spec declares the ``searchCriteria`` deep object as literal names for index 0 only, in
camelCase (``searchCriteria[filterGroups][0][filters][0][field]``), which openapi-core can only match
literally. The rules this module adds, each from how Magento reads a request:

1. A ``searchCriteria[...]`` name is checked after normalising it the way Magento's input processor reads it:
   any numeric index stands for index ``0`` and snake_case segments equal their camelCase form (Magento maps
   both spellings onto the same setters). The normalised name must be one the operation declares, and its
   value must fit the declared type (``pageSize`` and ``currentPage`` are integers).
2. The assembled search criteria must satisfy the schema's object rules: each filter has ``field`` and
   ``value`` (``framework-filter``), each sort order ``field`` and ``direction`` (``framework-sort-order``); a
   ``condition_type`` is one Magento knows (its REST search docs list them) and a direction ``ASC``/``DESC``.
3. An operation that declares ``searchCriteria`` needs at least one ``searchCriteria`` parameter (bare
   ``searchCriteria=`` counts): Magento answers 400 ``"searchCriteria" is required`` otherwise.
4. A query parameter the operation does not declare is reported, except ``fields`` (Magento's response field
   filter, accepted on every GET and not declared per operation).
5. A JSON body key the schema does not declare is reported (the schema never says ``additionalProperties:
   false``, but an undeclared key is a typo or a field Magento ignores; this also catches camelCase
   spellings).
"""

from __future__ import annotations

import functools
import json
import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import httpx
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from _shared import shared_path

SPEC_PARTS = ("specs", "magento", "admin-schema-2.4.8.openapi3.json")
_HOST = "http://magento.test"
_PREFIX = "/rest/default"
_API_PATH = re.compile(r"^(?:/index\.php)?/rest(?:/(?:(?!V1/)[A-Za-z0-9_]+))?(?P<api>/V1/.*)$")
_SEGMENT = re.compile(r"\[([^\]]*)\]")
# Magento's condition types (Adobe's "Search using REST endpoints" page; moreq/nfinset from the same list).
CONDITION_TYPES = frozenset(
    {
        "eq",
        "finset",
        "from",
        "gt",
        "gteq",
        "in",
        "like",
        "lt",
        "lteq",
        "moreq",
        "neq",
        "nfinset",
        "nin",
        "nlike",
        "notnull",
        "null",
        "to",
    }
)

load_seconds: float | None = None
"""How long loading the spec took in this process (``None`` until loaded)."""


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def normalise_param(name: str) -> str:
    """``searchCriteria[filter_groups][3][filters][1][condition_type]`` ->
    ``searchCriteria[filterGroups][0][filters][0][conditionType]``."""
    root, bracket, _ = name.partition("[")
    if not bracket:
        return name
    segments = _SEGMENT.findall(name[len(root) :])
    return root + "".join(f"[{'0' if s.isdigit() else _camel(s)}]" for s in segments)


class _Request:
    """The request shape openapi-core reads."""

    def __init__(
        self,
        method: str,
        api_path: str,
        query: Sequence[tuple[str, str]],
        content_type: str,
        body: bytes | None,
    ) -> None:
        self.method = method.lower()
        self.host_url = _HOST
        self.path = _PREFIX + api_path
        self.full_url_pattern = _HOST + self.path
        self.content_type = content_type
        self.body = body
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(query)),
            header=Headers({"Content-Type": content_type} if content_type else {}),
            cookie=ImmutableMultiDict(),
        )


class MagentoSchema:
    """Adobe's admin schema, loaded once, with the request checks described in the module docstring."""

    def __init__(self, spec: dict[str, Any]) -> None:
        spec = dict(spec)
        spec["servers"] = [{"url": _HOST + _PREFIX}]
        self.spec = spec
        # The spec file is a fixed vendor document: checking the spec itself costs ~3 s per process and finds
        # nothing new, so only requests are validated.
        self._api = OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))
        self._lock = threading.Lock()
        self._routes: list[tuple[re.Pattern[str], str, int]] = []
        for template in spec["paths"]:
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
            self._routes.append((re.compile(pattern + "$"), template, template.count("{")))
        # Literal paths win over templated ones (/V1/orders/items before /V1/orders/{id}).
        self._routes.sort(key=lambda r: r[2])

    # -- lookups ---------------------------------------------------------------------------------------------

    def operation(self, method: str, api_path: str) -> tuple[str, dict[str, Any]] | None:
        for pattern, template, _ in self._routes:
            if pattern.match(api_path):
                operation = self.spec["paths"][template].get(method.lower())
                if operation is not None:
                    return template, operation
        return None

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        seen = 0
        while "$ref" in schema and seen < 20:
            kind, name = schema["$ref"].split("/")[-2:]
            schema = self.spec["components"][kind][name]
            seen += 1
        return schema

    def body_schema(self, operation: Mapping[str, Any]) -> Mapping[str, Any] | None:
        body = operation.get("requestBody")
        if body is None:
            return None
        body = self.resolve(body)
        content = body.get("content", {}).get("application/json")
        return None if content is None else self.resolve(content["schema"])

    # -- checks ----------------------------------------------------------------------------------------------

    def request_errors(
        self,
        method: str,
        path: str,
        query: Iterable[tuple[str, str]],
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> list[str]:
        """Every way the request breaks the schema (empty when it is valid)."""
        query = list(query)
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        match = _API_PATH.match(path)
        if match is None:
            return [f"{method} {path}: not a Magento REST path (/rest[/<store>]/V1/...)"]
        api_path = match.group("api")
        found = self.operation(method, api_path)
        if found is None:
            known = any(p.match(api_path) for p, _, _ in self._routes)
            return [
                f"{method} {api_path}: "
                + ("method not allowed by the schema" if known else "path not in the schema")
            ]
        template, operation = found
        errors: list[str] = []
        content_type = headers.get("content-type", "application/json" if body else "")
        with self._lock:
            for error in self._api.iter_request_errors(
                _Request(method, api_path, query, content_type, body or None)
            ):
                errors.extend(_describe(error))
        errors.extend(self._query_errors(operation, query))
        if body:
            schema = self.body_schema(operation)
            try:
                payload = json.loads(body)
            except ValueError:
                payload = None
            if schema is not None and payload is not None:
                errors.extend(self._undeclared_keys(payload, schema, "body"))
        return [f"{method} {template}: {e}" for e in dict.fromkeys(errors)]

    def _query_errors(self, operation: Mapping[str, Any], query: Sequence[tuple[str, str]]) -> list[str]:
        declared: dict[str, Mapping[str, Any]] = {}
        for parameter in operation.get("parameters", []):
            parameter = self.resolve(parameter)
            if parameter.get("in") == "query":
                declared[normalise_param(parameter["name"])] = self.resolve(parameter.get("schema", {}))
        has_criteria = any(name.startswith("searchCriteria[") for name in declared)
        errors: list[str] = []
        filters: dict[tuple[str, str], dict[str, str]] = {}
        sorts: dict[str, dict[str, str]] = {}
        sent_criteria = False
        for name, value in query:
            if name == "fields":
                continue
            if name == "searchCriteria" and has_criteria:
                sent_criteria = True
                continue
            normal = normalise_param(name)
            schema = declared.get(normal)
            if schema is None:
                errors.append(f"query parameter {name!r} is not declared for this operation")
                continue
            if normal.startswith("searchCriteria["):
                sent_criteria = True
            if schema.get("type") == "integer" and normal != name and not re.fullmatch(r"-?\d+", value):
                errors.append(f"query parameter {name!r}: {value!r} is not an integer")
            parts = (
                _SEGMENT.findall(name[len("searchCriteria") :])
                if normal.startswith("searchCriteria[")
                else []
            )
            if len(parts) == 5 and _camel(parts[0]) == "filterGroups":
                filters.setdefault((parts[1], parts[3]), {})[_camel(parts[4])] = value
            elif len(parts) == 3 and _camel(parts[0]) == "sortOrders":
                sorts.setdefault(parts[1], {})[_camel(parts[2])] = value
        if has_criteria and not sent_criteria:
            errors.append("searchCriteria is required (Magento answers 400 without it)")
        for (group, index), spec in sorted(filters.items()):
            where = f"searchCriteria filter group {group} filter {index}"
            for required in ("field", "value"):
                if required not in spec:
                    errors.append(f"{where}: '{required}' is required")
            condition = spec.get("conditionType")
            if condition is not None and condition.lower() not in CONDITION_TYPES:
                errors.append(f"{where}: unknown condition_type {condition!r}")
        for index, spec in sorted(sorts.items()):
            where = f"searchCriteria sort order {index}"
            for required in ("field", "direction"):
                if required not in spec:
                    errors.append(f"{where}: '{required}' is required")
            direction = spec.get("direction")
            if direction is not None and direction.upper() not in ("ASC", "DESC"):
                errors.append(f"{where}: direction must be ASC or DESC, not {direction!r}")
        return errors

    def _undeclared_keys(self, value: Any, schema: Mapping[str, Any], where: str) -> list[str]:
        schema = self.resolve(schema)
        errors: list[str] = []
        if isinstance(value, dict) and "properties" in schema:
            properties = schema["properties"]
            for key, item in value.items():
                if key not in properties:
                    errors.append(f"{where}: key {key!r} is not declared by the schema")
                else:
                    errors.extend(self._undeclared_keys(item, properties[key], f"{where}.{key}"))
        elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
            for index, item in enumerate(value):
                errors.extend(self._undeclared_keys(item, schema["items"], f"{where}[{index}]"))
        return errors

    def payload_errors(self, definition: str, payload: Any) -> list[str]:
        """Where ``payload`` breaks the schema's ``definition`` (e.g. ``sales-data-order-interface``): for
        response bodies and fixtures."""
        from openapi_schema_validator import OAS30Validator

        validator = OAS30Validator(
            {"$ref": f"#/components/schemas/{definition}", "components": self.spec["components"]}
        )
        return [
            "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
            + f": {error.message}"
            for error in validator.iter_errors(payload)
        ]

    # -- assertions ------------------------------------------------------------------------------------------

    def validate_raw(
        self,
        method: str,
        path: str,
        query: Iterable[tuple[str, str]],
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> None:
        errors = self.request_errors(method, path, query, headers, body)
        if errors:
            raise AssertionError("request does not match Adobe's Magento schema:\n  " + "\n  ".join(errors))

    def validate_request(self, request: httpx.Request) -> None:
        body = request.content if request.content else None
        self.validate_raw(
            request.method, request.url.path, request.url.params.multi_items(), dict(request.headers), body
        )


def _describe(error: BaseException) -> list[str]:
    cause = error.__cause__
    schema_errors = getattr(cause, "schema_errors", None)
    if schema_errors:
        described = []
        for item in schema_errors:
            where = "body" + "".join(
                f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in item.absolute_path
            )
            described.append(f"{where}: {item.message}")
        return described
    name = getattr(error, "name", None)
    location = getattr(error, "location", None)
    if name is not None and location is not None:
        return [f"{location} parameter {name!r}: {cause or error}"]
    text = f"{type(error).__name__}: {error}"
    if cause is not None:
        text += f" ({cause})"
    return [text]


@functools.cache
def _load() -> MagentoSchema:
    global load_seconds
    path = shared_path(*SPEC_PARTS)
    started = time.perf_counter()
    schema = MagentoSchema(json.loads(path.read_text(encoding="utf-8")))
    load_seconds = time.perf_counter() - started
    return schema


def magento_schema() -> MagentoSchema:
    """The schema, loaded once per process (skips, or fails under CI, when ``shared/`` is missing)."""
    return _load()


def request_errors(
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
) -> list[str]:
    return magento_schema().request_errors(method, path, query, headers, body)


def validate_raw(
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
) -> None:
    """Validate a request as the fake store received it (method, path, query pairs, headers, body)."""
    magento_schema().validate_raw(method, path, query, headers, body)


def validate_request(request: httpx.Request) -> None:
    """Validate an ``httpx.Request`` (what a driver flow yields); ``AssertionError`` lists the problems."""
    magento_schema().validate_request(request)
