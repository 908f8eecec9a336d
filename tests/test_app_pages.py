"""The gemeente-app's pages over HTTP: each is a client of the municipal workflow it
names, with the same results and refusals (the browser story is test_app_browser.py)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from app_world import AppClient, AppWorld, make_app_world, running_app

pytestmark = pytest.mark.slow


def _flashes(client: AppClient, path: str) -> str:
    page = client.get(path).text
    return " ".join(re.findall(r'<div class="flash[^"]*"[^>]*>(.*?)</div>', page, re.S))


def _record_ids(client: AppClient) -> list[str]:
    return re.findall(r'name="status:(R-[A-Z0-9]+)"', client.get("/inburgeraars").text)


@pytest.fixture()
def world(tmp_path: Path) -> AppWorld:
    return make_app_world(tmp_path)


def test_the_import_folder_set_in_the_home_is_imported_at_unlock(
    world: AppWorld, tmp_path: Path
) -> None:
    synced = tmp_path / "OneDrive - Gemeente" / "Agentschap"
    synced.mkdir(parents=True)
    (synced / world.package.name).write_bytes(world.package.read_bytes())
    (synced / "notities.txt").write_text("not a package")
    with running_app(world.staff.home) as app:
        client = app.client()
        client.launch()
        assert client.post("/importeren/map", {"map": str(synced)}).status == 303
        assert client.unlock().status == 303
        said = _flashes(client, "/")
        assert "ingelezen" in said and world.package.name in said
        assert len(_record_ids(client)) >= 3
        client.post("/vergrendelen", {})
        client.unlock()
        assert "niets gewijzigd" in _flashes(client, "/")  # the same file again: harmless


def test_pages_that_need_the_key_ask_for_it_and_return_there(world: AppWorld) -> None:
    with running_app(world.staff.home) as app:
        client = app.client()
        client.launch()
        answer = client.get("/inburgeraars")
        assert (
            answer.status == 303 and answer.headers["Location"] == client.prefix + "/ontgrendelen"
        )
        unlocked = client.unlock()
        assert unlocked.headers["Location"] == client.prefix + "/inburgeraars"
        client.post("/vergrendelen", {})
        assert client.get("/terugmelding").headers["Location"] == client.prefix + "/ontgrendelen"


def test_english_is_one_click_away_and_dutch_is_the_default(world: AppWorld) -> None:
    with running_app(world.staff.home, env={"SECUREXCHANGE_LANG": ""}) as app:
        client = app.client()
        client.launch()
        assert '<html lang="nl">' in client.get("/").text
        assert "Overzicht" in client.get("/").text
        client.post("/taal", {"taal": "en", "terug": "/importeren"})
        page = client.get("/importeren").text
        assert '<html lang="en">' in page and "Import files from the agency" in page
        answer = client.post("/taal", {"taal": "nl", "terug": "https://evil.example/"})
        assert answer.headers["Location"] == client.prefix + "/"  # only our own pages


def test_a_status_outside_the_list_or_a_record_not_held_is_refused_and_nothing_stored(
    world: AppWorld,
) -> None:
    json = {"Accept": "application/json"}
    with running_app(world.staff.home) as app:
        client = app.client()
        client.launch()
        client.unlock()
        client.upload("/importeren", [(world.package.name, world.package.read_bytes())])
        (first, second, *_rest) = _record_ids(client)
        refused = client.post(
            "/inburgeraars/status",
            {f"status:{first}": "gecontacteerd", f"status:{second}": "x"},
            headers=json,
        ).json()
        assert refused == {"ok": False, "message": refused["message"]}
        assert "SX-USAGE" in refused["message"]  # type: ignore[index]
        unknown = client.post(
            "/inburgeraars/status", {"status:R-AAAAAAAAAAAAAAAAAAAA": "gestart"}, headers=json
        ).json()
        assert "SX-NOT-FOUND" in unknown["message"]  # type: ignore[index]
        page = client.get("/terugmelding").text
        assert "Nog niets om terug te melden" in page  # all or nothing: nothing stored
        saved = client.post(
            "/inburgeraars/status",
            {f"status:{first}": "gecontacteerd", f"status:{second}": "toegeleid"},
        )
        assert saved.status == 303
        assert "2 statussen bewaard" in _flashes(client, "/inburgeraars")


def test_the_return_and_the_workbook_are_the_commands_own(world: AppWorld, tmp_path: Path) -> None:
    outbox = tmp_path / "uit"
    with running_app(world.staff.home) as app:
        client = app.client()
        client.launch()
        client.unlock()
        client.upload("/importeren", [(world.package.name, world.package.read_bytes())])
        (record, *_rest) = _record_ids(client)
        client.post("/inburgeraars/status", {f"status:{record}": "gestart"})
        client.post("/terugmelding", {"map": str(outbox)})
        assert "1 status" in _flashes(client, "/terugmelding")
        client.post("/excel", {})
        assert "dossiers geschreven" in _flashes(client, "/excel")
    (returned,) = outbox.glob("*.sxr")
    verified = subprocess.run(
        [
            sys.executable,
            "-m",
            "securexchange",
            "audit",
            "verify",
            str(world.package),  # carries the keyring version the return names
            str(returned),
            "--agency-key",
            str(world.agency / "keys" / "root.card.json"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    (workbook,) = (world.staff.home / "workbooks").glob("*.xlsx")
    assert oct(workbook.stat().st_mode & 0o777) == "0o600"
    status = subprocess.run(
        [
            sys.executable,
            "-m",
            "securexchange",
            "--home",
            str(world.staff.home),
            "--lang",
            "en",
            "municipality",
            "status",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert str(workbook) in status.stdout  # registered: shredding will reach it


def test_a_keyring_comes_with_its_signature_and_nothing_is_read_from_disk(
    world: AppWorld, tmp_path: Path
) -> None:
    from securexchange.agency.registry import publish_keyring
    from securexchange.home.home import HomeKind, open_home

    published = tmp_path / "published"
    with open_home(world.agency, env={}, expect=HomeKind.AGENCY) as home:
        publish_keyring(home, published)
    keyring = published / f"keyring-{world.staff.nis}.json"
    signature = keyring.with_suffix(".sig")
    with running_app(world.staff.home, cwd=published) as app:
        client = app.client()
        client.launch()
        client.unlock()
        # Alone, the keyring is refused: the app does not look for a .sig on its disk,
        # not even in its working directory, which holds the right one here.
        client.upload("/importeren", [(keyring.name, keyring.read_bytes())])
        assert "kies er zijn .sig-bestand bij" in _flashes(client, "/importeren")
        client.upload(
            "/importeren",
            [(keyring.name, keyring.read_bytes()), (signature.name, signature.read_bytes())],
        )
        said = _flashes(client, "/importeren")
        assert "sleutelring" in said.lower() and "ingelezen" in said
        client.upload("/importeren", [("../../" + signature.name, b"not a signature")])
        assert "werd niet ingelezen" in _flashes(client, "/importeren")


def test_a_file_planted_in_the_outbox_refuses_the_return_before_its_number_is_used(
    world: AppWorld, tmp_path: Path
) -> None:
    outbox = tmp_path / "gedeeld"
    outbox.mkdir()
    with running_app(world.staff.home) as app:
        client = app.client()
        client.launch()
        client.unlock()
        client.upload("/importeren", [(world.package.name, world.package.read_bytes())])
        (record, *_rest) = _record_ids(client)
        client.post("/inburgeraars/status", {f"status:{record}": "gestart"})
        planted = outbox / f"{world.staff.nis}_{world.staff.fingerprint}_000001.sxr"
        planted.write_bytes(b"planted")
        client.post("/terugmelding", {"map": str(outbox)})
        said = _flashes(client, "/terugmelding")
        assert "bestaat al" in said and "SX-USAGE" in said
        planted.unlink()
        client.post("/terugmelding", {"map": str(outbox)})
        assert "1 status" in _flashes(client, "/terugmelding")
    (made,) = outbox.glob("*.sxr")
    assert made.name == planted.name  # number 1 was not used up by the refusal


def test_folders_typed_in_a_page_are_full_paths_and_a_refusing_folder_is_said(
    world: AppWorld, tmp_path: Path
) -> None:
    with running_app(world.staff.home) as app:
        client = app.client()
        client.launch()
        client.unlock()
        client.post("/importeren/map", {"map": "relatief/pad"})
        assert "volledige pad" in _flashes(client, "/importeren")
        client.upload("/importeren", [(world.package.name, world.package.read_bytes())])
        (record, *_rest) = _record_ids(client)
        client.post("/inburgeraars/status", {f"status:{record}": "gestart"})
        client.post("/terugmelding", {"map": "uit"})
        assert "volledige pad" in _flashes(client, "/terugmelding")
        too_long = str(tmp_path / ("x" * 300))
        answer = client.post("/terugmelding", {"map": too_long})
        assert answer.status == 303
        assert "weigerde" in _flashes(client, "/terugmelding")
