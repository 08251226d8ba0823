"""What the fakes' OpenAPI request checks share: a received request in the shape openapi-core reads, and the
table that finds which of a document's path templates a request path is.

openapi-core and werkzeug are test dependencies, imported when a request is built, never when a fake is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

__all__ = ["OpenApiRequest", "path_templates"]


class OpenApiRequest:
    """A request as openapi-core's ``iter_request_errors`` reads it. The content type is the ``Content-Type``
    header, else JSON when there is a body."""

    def __init__(
        self,
        method: str,
        host: str,
        path: str,
        query: Sequence[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> None:
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        header = Headers(dict(headers))
        self.method = method.lower()
        self.host_url = host
        self.path = path
        self.full_url_pattern = host + path
        self.content_type = header.get("content-type", "application/json" if body else "")
        self.body = body
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(query)), header=header, cookie=ImmutableMultiDict()
        )


def path_templates(templates: Iterable[str], *, trailing_slash: bool = False) -> list[tuple[re.Pattern[str], str]]:
    """A pattern for each path template (``/orders/{id}``: one segment a parameter), literal paths first so that
    ``/orders/count`` wins over ``/orders/{id}``; ``trailing_slash`` also matches the path with a final ``/``."""
    end = "/?$" if trailing_slash else "$"
    table = [
        (re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + end), template) for template in templates
    ]
    return sorted(table, key=lambda entry: entry[1].count("{"))
