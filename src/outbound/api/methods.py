"""Method dispatch that agrees with the OpenAPI document: 405 with a complete ``Allow``.

FastAPI registers one route per method, and the router takes the first route whose template
matches. Two answers then went wrong. A fixed segment such as ``/dnc/check`` is also matched
by ``/dnc/{entry_id}``, so ``DELETE /dnc/check`` reached the id route and answered 422
("check is not an integer") where the resource has no DELETE at all (405). And a method no
route serves got a 405 whose ``Allow`` named only the first route's methods. Here the path is
resolved first, against the document's own path templates, to the most specific one (a fixed
segment beats a parameter, from the left); the methods documented for it are what the
resource allows, and any other method is answered 405 before a route is chosen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

_PARAMETER = re.compile(r"\{[^}/]+\}")


@dataclass(frozen=True)
class Resource:
    template: str
    pattern: re.Pattern[str]
    specificity: tuple[int, ...]  # 0 for a fixed segment, 1 for a parameter: lower wins
    methods: frozenset[str]


def resources(document: dict[str, Any]) -> list[Resource]:
    """Every path of an OpenAPI document, with its methods, most specific first."""
    found = []
    for template, operations in document.get("paths", {}).items():
        parts = _PARAMETER.split(template)
        regex = "[^/]+".join(re.escape(part) for part in parts)
        segments = template.strip("/").split("/")
        found.append(
            Resource(
                template=template,
                pattern=re.compile(f"^{regex}$"),
                specificity=tuple(1 if "{" in s else 0 for s in segments),
                methods=frozenset(m.upper() for m in operations if not m.startswith("x-")),
            )
        )
    return sorted(found, key=lambda r: r.specificity)


def resolve(table: list[Resource], path: str) -> Resource | None:
    """The most specific documented resource whose template matches ``path``."""
    return next((r for r in table if r.pattern.match(path)), None)


def _route_path(scope: Scope) -> str:
    """The path the routes see: without the prefix a proxy mounts the app under."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def allow_header(methods: frozenset[str]) -> str:
    return ", ".join(sorted(methods))


class MethodGate:
    """ASGI middleware: a documented path asked for a method it lacks answers 405 + Allow."""

    def __init__(self, app: ASGIApp, api: FastAPI) -> None:
        self.app = app
        self.api = api
        self._table: list[Resource] | None = None

    def _resources(self) -> list[Resource]:
        if self._table is None:  # the document is built once every route is in place
            key = _shape(self.api)
            if key not in _TABLES:
                _TABLES[key] = resources(self.api.openapi())
            self._table = _TABLES[key]
        return self._table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            resource = resolve(self._resources(), _route_path(scope))
            if resource is not None and scope["method"] not in resource.methods:
                response = JSONResponse(
                    {"detail": f"{scope['method']} is not allowed here"},
                    status_code=405,
                    headers={"Allow": allow_header(resource.methods)},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


# Building the document costs most of a second; an app built again with the same routes (as
# create_app does for every worker, test or reload) reuses the table read off the first.
_TABLES: dict[str, list[Resource]] = {}


def _shape(api: FastAPI) -> str:
    """What the routes are, as far as the top level tells: their kinds, paths and names."""
    return repr(
        [(type(r).__name__, getattr(r, "path", None), getattr(r, "name", None)) for r in api.routes]
        + [api.title, api.version, api.openapi_url]
    )
