"""The demo run: a new or empty directory, the story's steps in order, each yielded as it
is done (library code never prints; the CLI shows them)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from securexchange.demo.cast import (
    STEP_NAMES,
    TOTAL_STEPS,
    DemoFailed,
    Step,
    prepare_directory,
)
from securexchange.errors import SxError
from securexchange.home.home import system_time
from securexchange.i18n import _

if TYPE_CHECKING:
    pass
from securexchange.demo.story import _Story


def run_demo(directory: Path, *, now: datetime | None = None) -> Iterator[Step]:
    """Run the story in ``directory`` (new or empty), yielding each step as it is done.

    Raises :class:`DemoFailed` when a step did not do what it should, and the step's
    own error when a workflow refused.
    """
    prepare_directory(directory)
    story = _Story(directory, now or system_time())
    steps: tuple[tuple[Callable[[], str], Path | None], ...] = (
        (story.master_file, story.master),
        (story.agency_home, story.agency),
        (story.municipalities, story.agency),
        (story.staff_homes, directory),
        (story.keyring, story.published),
        (story.export, story.exports),
        (story.imports, directory),
        (story.open, None),
        (story.edit_workbook, None),
        (story.set_status, None),
        (story.quality_report, None),
        (story.make_returns, story.returns),
        (story.agency_import, story.agency),
        (story.agency_report, story.report),
        (story.quality_resolved, story.agency),
        (story.export_again, story.exports_again),
        (story.audit_verify, None),
        (story.audit_tampered, story.audit),
        (story.incident, story.incidents),
        (story.notice, story.protocol_notices),
        (story.evidence, story.evidence_dir),
        (story.terminate, story.notices),
        (story.time_passes, None),
        (story.logs, None),
    )
    assert len(steps) == TOTAL_STEPS
    for number, ((action, where), name) in enumerate(zip(steps, STEP_NAMES, strict=True), 1):
        story.where = None
        try:
            detail = action()
        except DemoFailed:
            raise
        except SxError as exc:
            # TRANSLATORS: {name} is the step's name; {error} the refusal, with its SX- name.
            refused = _("demo step {number} ({name}) was refused: {error}")
            raise DemoFailed(refused.format(number=number, name=_(name), error=exc)) from exc
        yield Step(number, name, detail, story.where or where)
