"""REST routes for strategies (to be written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/strategies", tags=["strategies"])
