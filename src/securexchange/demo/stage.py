"""The demo's stage: its directory, homes, keys and clock, that every step uses."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from securexchange.demo.cast import (
    MUNICIPALITIES,
    Staff,
    demo_key,
    slug,
)
from securexchange.home.home import Home, HomeKind, open_home
from securexchange.intake import sample
from securexchange.keys.keystore import KeySource, KeyUse, key_path

if TYPE_CHECKING:
    from securexchange.municipality.status import VaultStatus


class Stage:
    """The demo's directory, homes and clock, and how a step opens a home or a key."""

    def __init__(self, directory: Path, today: datetime) -> None:
        self.dir = directory
        self.today = today.date()
        self.env: dict[str, str] = {}  # the homes' environment: no override until time passes
        self.agency = directory / "agency"
        self.master = directory / "demo-master.xlsx"
        self.exports = directory / "exports"
        self.exports_again = directory / "exports-2"
        self.published = directory / "keyring"
        self.returns = directory / "returns"
        self.notices = directory / "notices"
        self.incidents = directory / "incidents"
        self.protocol_notices = directory / "protocol-notices"
        self.evidence_dir = directory / "evidence"
        self.audit = directory / "audit-tampered"
        self.report = directory / "agency-report.xlsx"
        self.protocol_until = date(self.today.year + 2, 12, 31)
        self.future = self.protocol_until + timedelta(days=1)
        self.staff: list[Staff] = [
            Staff(m, person, directory / f"staff-{m.nis}-{slug(person)}")
            for m in MUNICIPALITIES
            for person in m.staff
        ]
        self.workbooks: dict[str, Path] = {}
        self.master_rows: sample.Rows = []
        self.where: Path | None = None  # a step that wrote somewhere else says so here

    @contextmanager
    def _agency(self) -> Iterator[Home]:
        with open_home(self.agency, env=self.env, expect=HomeKind.AGENCY) as home:
            yield home

    @contextmanager
    def _municipal(self, staff: Staff) -> Iterator[Home]:
        """As every municipal command: open the home and shred before anything else."""
        from securexchange.municipality.retention import shred

        with open_home(staff.home, env=self.env, expect=HomeKind.MUNICIPALITY) as home:
            shred(home)
            yield home

    def _root(self, home: Home) -> KeySource:
        return demo_key(key_path(home, KeyUse.ROOT))

    def _export_key(self, home: Home) -> KeySource:
        return demo_key(key_path(home, KeyUse.EXPORT))

    def _dpo_key(self, home: Home) -> KeySource:
        return demo_key(key_path(home, KeyUse.DPO))

    def _identity(self, home: Home) -> KeySource:
        return demo_key(key_path(home, KeyUse.IDENTITY))

    def _of(self, nis: str) -> list[Staff]:
        return [s for s in self.staff if s.municipality.nis == nis]

    def _status(self, staff: Staff) -> VaultStatus:
        from securexchange.municipality.status import status

        with self._municipal(staff) as home:
            return status(home)
