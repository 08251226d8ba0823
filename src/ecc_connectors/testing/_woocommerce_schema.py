"""Check requests against the wc/v3 OpenAPI document with openapi-core, as the fake WooCommerce store receives them.

``WooCommerceSchema.load(path)`` reads the spec (``shared/specs/woocommerce/wc-v3-openapi-3.0.x.yml``; the fake
takes it as its ``spec`` knob, the project never reads ``shared/`` on its own) and ``request_errors(...)`` lists
every way a request breaks it. openapi-core checks the path, the method, the declared path and query parameters
and the JSON body. The rules added here, each from how WordPress and WooCommerce read a request:

1. The route prefix ``/wp-json/wc/v3`` is the spec's server path; other namespaces (the Shipment Tracking
   extension's ``/wp-json/wc-shipment-tracking/v3``) are not in the document and are checked against the
   extension's documented fields (:data:`TRACKING_BODY`) instead.
2. Authentication is the fake's own check (the document declares HTTP Basic only, WooCommerce also takes
   query keys and OAuth 1.0a), so the document's ``security`` is dropped; and authentication parameters are
   not the operation's (``oauth_*``, ``consumer_key``, ``consumer_secret``: the REST API key handler reads
   them before routing), and neither is ``_fields`` (WordPress core's response field
   filter, accepted on every route); they are left out before the check.
3. WordPress reads an ``array`` query parameter from a comma list (``status=pending,processing``:
   ``wp_parse_list``), so such a value is split into repeated parameters before openapi-core sees it; a
   repeated name (``status=a&status=b``) is reported, since PHP keeps only the last one.
4. Status enums are extended with the statuses the store registered beyond the document's (WooCommerce builds
   the enum from ``wc_get_order_statuses()`` at run time: ``checkout-draft`` and plugin statuses).
5. A query parameter or JSON body key the document does not declare for the operation is reported (the spec
   never says ``additionalProperties: false``, but WooCommerce ignores such keys, so sending one is a bug).
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ._openapi_request import OpenApiRequest, path_templates

__all__ = ["TRACKING_BODY", "WooCommerceSchema"]

_HOST = "http://localhost"
_PREFIX = "/wp-json/wc/v3"
_TRACKING = re.compile(r"^/wp-json/wc-shipment-tracking/v3/orders/\d+/shipment-trackings/?$")
_AUTH_PARAMS = frozenset({"consumer_key", "consumer_secret"})
TRACKING_BODY = frozenset(
    {"tracking_provider", "custom_tracking_provider", "custom_tracking_link", "tracking_number", "date_shipped"}
)
"""The body fields of ``POST .../shipment-trackings`` (WooCommerce.com, "Create a tracking item with the
Shipment Tracking REST API"); ``tracking_number`` is required."""


class WooCommerceSchema:
    """The wc/v3 document, loaded once, with the request checks of the module notes."""

    def __init__(self, spec: Mapping[str, Any], extra_statuses: Iterable[str] = ()) -> None:
        from openapi_core import Config, OpenAPI

        self.extra_statuses = tuple(dict.fromkeys(extra_statuses))
        document = copy.deepcopy(dict(spec))
        document["servers"] = [{"url": _HOST + _PREFIX}]
        _extend_statuses(document, self.extra_statuses)
        # Rule 2: the REST API key handler authenticates before routing, by Basic, query keys or OAuth 1.0a; the
        # document knows Basic only (WordPress application passwords). The fake checks the keys itself.
        document.pop("security", None)
        for item in document["paths"].values():
            for operation in item.values():
                if isinstance(operation, dict):
                    operation.pop("security", None)
        self.spec = document
        # A fixed vendor document: checking the document itself costs seconds and finds nothing new.
        self._api = OpenAPI.from_dict(document, config=Config(spec_validator_cls=None))
        self._lock = threading.Lock()
        self._routes = path_templates(document["paths"], trailing_slash=True)

    @classmethod
    def load(cls, path: str | Path, extra_statuses: Iterable[str] = ()) -> WooCommerceSchema:
        import yaml  # PyYAML comes with openapi-core

        text = Path(path).read_text(encoding="utf-8")
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 20 times faster on this 0.5 MB file
        spec = yaml.load(text, Loader=loader) if str(path).endswith((".yml", ".yaml")) else json.loads(text)
        return cls(spec, extra_statuses)

    def operation(self, method: str, api_path: str) -> tuple[str, Mapping[str, Any]] | None:
        for pattern, template in self._routes:
            if pattern.match(api_path):
                found = self.spec["paths"][template].get(method.lower())
                if found is not None:
                    return template, found
        return None

    def _resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        seen = 0
        while "$ref" in schema and seen < 20:
            schema = self.spec["components"][schema["$ref"].split("/")[-2]][schema["$ref"].split("/")[-1]]
            seen += 1
        return schema

    def request_errors(
        self, method: str, path: str, query: Iterable[tuple[str, str]], body: bytes | None = None
    ) -> list[str]:
        """Every way the request breaks the document (empty when it is valid)."""
        pairs = [(k, v) for k, v in query if not (k.startswith("oauth_") or k in _AUTH_PARAMS or k == "_fields")]
        if _TRACKING.match(path):
            return self._tracking_errors(method, path, pairs, body)
        if not path.startswith(_PREFIX + "/"):
            return [f"{method} {path}: not a wc/v3 path"]
        api_path = path[len(_PREFIX) :]
        found = self.operation(method, api_path)
        if found is None:
            known = any(p.match(api_path) for p, _ in self._routes)
            return [f"{method} {api_path}: " + ("method not allowed by the spec" if known else "path not in the spec")]
        template, operation = found
        declared: dict[str, Mapping[str, Any]] = {}
        for parameter in operation.get("parameters", []):
            parameter = self._resolve(parameter)
            if parameter.get("in") == "query":
                declared[parameter["name"]] = self._resolve(parameter.get("schema", {}))
        errors: list[str] = []
        expanded: list[tuple[str, str]] = []
        counts: dict[str, int] = {}
        for name, value in pairs:
            counts[name] = counts.get(name, 0) + 1
            schema = declared.get(name)
            if schema is None:
                errors.append(f"query parameter {name!r} is not declared for this operation")
                continue
            if schema.get("type") == "array":
                expanded += [(name, part.strip()) for part in value.split(",") if part.strip()]
            else:
                expanded.append((name, value))
        errors += [
            f"query parameter {name!r} is repeated (PHP keeps only the last; send a comma list)"
            for name, n in counts.items()
            if n > 1
        ]
        sent = OpenApiRequest(
            method, _HOST, path, expanded, {"Content-Type": "application/json"} if body else {}, body or None
        )
        with self._lock:
            for error in self._api.iter_request_errors(sent):
                errors.extend(_describe(error))
        if body:
            try:
                payload = json.loads(body)
            except ValueError:
                payload = None
                errors.append("body: not JSON")
            schema = _body_schema(self, operation)
            if schema is not None and payload is not None:
                errors.extend(self._undeclared_keys(payload, schema, "body"))
        return [f"{method} {template}: {e}" for e in dict.fromkeys(errors)]

    def _tracking_errors(
        self, method: str, path: str, query: Sequence[tuple[str, str]], body: bytes | None
    ) -> list[str]:
        where = f"{method} /wc-shipment-tracking/v3/orders/{{order_id}}/shipment-trackings"
        errors = [f"query parameter {name!r} is not documented" for name, _ in query]
        if method.upper() == "POST":
            try:
                payload = json.loads(body or b"")
            except ValueError:
                return [f"{where}: body: not JSON"]
            if not isinstance(payload, dict):
                return [f"{where}: body: not an object"]
            errors += [f"body: key {key!r} is not documented" for key in payload if key not in TRACKING_BODY]
            if not payload.get("tracking_number"):
                errors.append("body: tracking_number is required")
            if not payload.get("tracking_provider") and not payload.get("custom_tracking_provider"):
                errors.append("body: tracking_provider or custom_tracking_provider is required")
        elif method.upper() != "GET":
            errors.append("method not documented")
        return [f"{where}: {e}" for e in errors]

    def _undeclared_keys(self, value: Any, schema: Mapping[str, Any], where: str) -> list[str]:
        schema = self._resolve(schema)
        errors: list[str] = []
        if isinstance(value, dict) and "properties" in schema:
            properties = schema["properties"]
            for key, item in value.items():
                if key not in properties:
                    errors.append(f"{where}: key {key!r} is not declared by the spec")
                else:
                    errors.extend(self._undeclared_keys(item, properties[key], f"{where}.{key}"))
        elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
            for index, item in enumerate(value):
                errors.extend(self._undeclared_keys(item, schema["items"], f"{where}[{index}]"))
        return errors


def _body_schema(schema: WooCommerceSchema, operation: Mapping[str, Any]) -> Mapping[str, Any] | None:
    body = operation.get("requestBody")
    if body is None:
        return None
    content = schema._resolve(body).get("content", {}).get("application/json")
    return None if content is None else schema._resolve(content["schema"])


def _extend_statuses(document: dict[str, Any], extra: Sequence[str]) -> None:
    """Rule 4: add the store's own statuses to every order status enum (query filter and bodies)."""
    if not extra:
        return

    def widen(enum: list[Any]) -> None:
        if "pending" in enum and "processing" in enum:
            enum.extend(s for s in extra if s not in enum)

    def walk(node: Any, key: str | None = None) -> None:
        if isinstance(node, dict):
            if key == "status" and isinstance(node.get("enum"), list):
                widen(node["enum"])
            if isinstance(node.get("items"), dict) and isinstance(node["items"].get("enum"), list) and key == "status":
                widen(node["items"]["enum"])
            if node.get("name") == "status" and isinstance(node.get("schema"), dict):
                walk(node["schema"], "status")
            for child_key, child in node.items():
                walk(child, child_key)
        elif isinstance(node, list):
            for child in node:
                walk(child, key)

    for template in ("/orders", "/orders/{id}", "/orders/batch"):
        if template in document["paths"]:
            walk(document["paths"][template])
    if "shop_order" in document.get("components", {}).get("schemas", {}):
        walk(document["components"]["schemas"]["shop_order"])


def _describe(error: BaseException) -> list[str]:
    cause = error.__cause__
    name = getattr(error, "name", None)
    location = getattr(error, "location", None)
    where = f"{location} parameter {name!r}" if name is not None and location is not None else "body"
    schema_errors = getattr(cause, "schema_errors", None)
    if schema_errors:
        return [
            where
            + "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in item.absolute_path)
            + f": {item.message}"
            for item in schema_errors
        ]
    if name is not None and location is not None:
        return [f"{where}: {cause or error}"]
    text = f"{type(error).__name__}: {error}"
    return [text + (f" ({cause})" if cause is not None else "")]
