"""``GET /metrics``: this process's series and the database's, for Prometheus.

Left out of the OpenAPI document (it is not part of the REST API and takes its own token,
not a user's); ``tests/integration/test_route_security.py`` lists it with the other routes
outside the document.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Header, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.registry import CollectorRegistry

from outbound.config import Config
from outbound.metrics.exposition import render, token_matches
from outbound.metrics.series import REGISTRY

router = APIRouter()


def registries_of(app: FastAPI) -> list[CollectorRegistry]:
    """What the service's metrics show: this process's series and the database's."""
    return [REGISTRY, app.state.metrics_registry]


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, authorization: Annotated[str | None, Header()] = None) -> Response:
    config: Config = request.app.state.config
    token = config.metrics_token.get_secret_value() if config.metrics_token else None
    if not token:  # not configured: nothing is here
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
    if not token_matches(token, authorization):
        return JSONResponse(
            {"detail": "the metrics token is required (Authorization: Bearer <token>)"},
            status.HTTP_401_UNAUTHORIZED,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    return Response(render(registries_of(request.app)), media_type=CONTENT_TYPE_LATEST)
