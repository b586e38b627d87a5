"""The command line addresses campaigns the way the README documents: by name first."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from outbound.cli import app
from outbound.db.engine import Database
from tests.conftest import Account
from tests.factories import make_campaign


@pytest.mark.parametrize("command", ["import", "simulate"])
def test_an_unknown_campaign_names_the_ways_to_address_one(
    command: str, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTBOUND_DATABASE_URL", db.url)
    source = tmp_path / "contacts.csv"
    source.write_text("phone1\n+14155550200\n")
    args = [str(source)] if command == "import" else []
    ran = CliRunner().invoke(app, [command, *args, "--campaign", "No-Such-Campaign"])
    assert ran.exit_code == 1
    assert (
        "campaign 'No-Such-Campaign' not found: give its name, its id or crm:<crm id>" in ran.output
    )


def test_import_finds_a_campaign_by_its_name_in_any_case(
    client: TestClient,
    admin: Account,
    db: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    campaign = make_campaign(db, "Spring-Sale")
    monkeypatch.setenv("OUTBOUND_DATABASE_URL", db.url)
    source = tmp_path / "contacts.csv"
    source.write_text("phone1\n+14155550200\n+14155550486\n")
    ran = CliRunner().invoke(app, ["import", str(source), "--campaign", "spring-sale"])
    assert ran.exit_code == 0, ran.output
    listed = client.get(f"/api/v1/campaigns/{campaign}/contacts", headers=admin.headers).json()
    assert sorted(c["phone1"] for c in listed["items"]) == ["+14155550200", "+14155550486"]
