"""The people page's read (municipality/people.py): the current records with the staff's
edits, who is new since the previous package, and the read logged with counts only."""

from __future__ import annotations

from pathlib import Path

from app_world import NIS, OTHER_NIS
from flows import STAFF_PASS, add_staff, export, make_agency, register
from securexchange.home.home import HomeKind, open_home
from securexchange.intake import sample
from securexchange.keys.keystore import KeySource
from securexchange.municipality.importer import import_files
from securexchange.municipality.opening import set_statuses
from securexchange.municipality.people import current_people


def _key(home: Path) -> KeySource:
    return KeySource(home / "keys" / "identity.key", lambda: STAFF_PASS)


def _import(staff: Path, package: Path) -> None:
    with open_home(staff, env={}, expect=HomeKind.MUNICIPALITY) as home:
        import_files(home, [package], _key(staff))


def _package(agency: Path, rows: sample.Rows, out: Path) -> Path:
    master = out.with_suffix(".xlsx")
    sample.write_master(rows, master)
    (made,) = [p.file for p in export(agency, master, out).packages if p.nis == NIS and p.file]
    return made


def test_people_new_since_the_previous_package_are_marked(tmp_path: Path) -> None:
    agency = tmp_path / "agency"
    make_agency(agency)
    register(agency, NIS, "Antwerpen")
    staff = add_staff(agency, tmp_path / "staff", NIS).home
    first = sample.generate_master(8, nis=[NIS], seed=1)
    later = sample.generate_master(3, nis=[NIS, OTHER_NIS], seed=2)
    arrivals = [r for r in later[1:] if str(r[later[0].index("NIS-code")]) == NIS]
    _import(staff, _package(agency, first, tmp_path / "out-1"))
    with open_home(staff, env={}, expect=HomeKind.MUNICIPALITY) as home:
        alone = current_people(home, _key(staff))
    assert not alone.compared and alone.new == frozenset()

    _import(staff, _package(agency, [*first, *arrivals], tmp_path / "out-2"))
    with open_home(staff, env={}, expect=HomeKind.MUNICIPALITY) as home:
        people = current_people(home, _key(staff))
        set_statuses(home, _key(staff), {people.rows[0].record_id: "gestart"})
        edited = current_people(home, _key(staff))
    assert people.compared
    assert len(people.new) == len(arrivals) > 0
    surnames = {str(r[first[0].index("Naam")]) for r in arrivals}
    assert {r.record.naam for r in people.rows if r.record_id in people.new} == surnames
    assert edited.rows[0].status == "gestart"
    log = (staff / "log.jsonl").read_text()
    assert log.count('"action":"view"') == 3
    assert not any(name in log for name in surnames)
