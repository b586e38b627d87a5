"""REST routes for campaigns (to be written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/campaigns", tags=["campaigns"])
