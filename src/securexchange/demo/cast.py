"""The demo's cast and script: the synthetic agency and municipalities, their staff, the
steps in order, and how a step is reported."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from securexchange.errors import InternalError, UsageError
from securexchange.i18n import N_, _
from securexchange.intake import sample
from securexchange.keys.keyfile import DEMO_PASSPHRASE
from securexchange.keys.keystore import KeySource
from securexchange.printable import escape

if TYPE_CHECKING:
    pass


AGENCY_NAME = "Agentschap Integratie en Inburgering (DEMO)"


RECORDS = 30


SEED = 2026


STATUS_TYPED = "gecontacteerd"


STATUS_SET = "toegeleid"


class DemoFailed(InternalError):
    """A demo step did not do what it should (a bug: the demo runs on its own data)."""

    default_hint = N_("rerun with --debug and report the output (it holds no personal data)")


@dataclass(frozen=True)
class Step:
    """What one step did, in one line, and where its files are."""

    number: int
    name: str
    detail: str
    where: Path | None

    def line(self, total: int) -> str:
        width = len(str(total))
        # The directory is the caller's choice: shown as printable.escape shows any name.
        place = f" -> {escape(str(self.where))}" if self.where is not None else ""
        return f"[{self.number:>{width}}/{total}] {_(self.name)}: {self.detail}{place}"


@dataclass(frozen=True)
class Municipality:
    nis: str
    name: str
    staff: tuple[str, ...]  # the staff members' names, one home each


MUNICIPALITIES = (
    Municipality("11002", "Antwerpen", ("An Peeters", "Jan Claes")),
    Municipality("44021", "Gent", ("Sofie Maes",)),
    Municipality("71016", "Genk", ("Youssef El Amrani",)),
)


STEP_NAMES = (
    N_("master"),
    N_("agency"),
    N_("municipalities"),
    N_("staff"),
    N_("keyring"),
    N_("export"),
    N_("import"),
    N_("open"),
    N_("edit workbook"),
    N_("set status"),
    N_("quality report"),
    N_("return"),
    N_("agency import"),
    N_("agency report"),
    N_("quality resolved"),
    N_("export again"),
    N_("audit verify"),
    N_("audit tampered"),
    N_("incident"),
    N_("notice"),
    N_("evidence"),
    N_("terminate"),
    N_("time passes"),
    N_("logs"),
)


TOTAL_STEPS = len(STEP_NAMES)


def check(condition: bool, what: str) -> None:
    if not condition:
        # TRANSLATORS: {what} is what went wrong, one of the demo's own checks.
        raise DemoFailed(_("demo step failed: {what}").format(what=what))


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def summary_rows(steps: list[Step]) -> list[list[str]]:
    """The summary table: one row per step (number, name, result, where)."""
    return [
        [str(s.number), _(s.name), _("ok"), "" if s.where is None else str(s.where)] for s in steps
    ]


@dataclass
class Staff:
    municipality: Municipality
    name: str
    home: Path

    @property
    def label(self) -> str:
        return f"{self.municipality.name}/{self.name}"


def demo_key(path: Path) -> KeySource:
    return KeySource(path, lambda: DEMO_PASSPHRASE)


def personal_values(rows: sample.Rows) -> set[str]:
    """Names, contact data and client ids of the synthetic master (for the log scan)."""
    from securexchange.schema import ADRES, EMAIL, KLANT_ID, NAAM, TELEFOON, VOORNAAM

    header = [str(h) for h in rows[0]]
    columns = [header.index(f.header) for f in (KLANT_ID, NAAM, VOORNAAM, ADRES, TELEFOON, EMAIL)]
    values = set()
    for row in rows[1:]:
        for i in columns:
            value = row[i]
            if isinstance(value, str) and len(value) >= 4:
                values.add(value)
    return values


def prepare_directory(directory: Path) -> None:
    if directory.exists():
        if not directory.is_dir():
            raise UsageError(_("{directory} is not a directory").format(directory=directory))
        if any(directory.iterdir()):
            raise UsageError(
                _("{directory} is not empty").format(directory=directory),
                hint=_("give a new or empty directory with --dir"),
            )
    directory.mkdir(parents=True, exist_ok=True)
