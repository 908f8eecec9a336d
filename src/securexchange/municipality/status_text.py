"""What ``municipality status`` says to staff: Dutch first, English on request.

All of the command's human wording is here, in English, each text marked for the Dutch
catalog (``securexchange.i18n``); :func:`render` turns the JSON-ready document of
:mod:`securexchange.municipality.status` into a table and lines. Staff read what a
state means for them, with dates, not key names: "your key for packages from ... to ...
is destroyed on ...". The language is the run's (``--lang``, ``SECUREXCHANGE_LANG``,
the system's; docs/cli.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from securexchange.clock import read_instant
from securexchange.i18n import N_, _, long_date
from securexchange.municipality.workbook_cells import shown_problem
from securexchange.printable import escape
from securexchange.reminders import Event, EventKind, describe
from securexchange.wording import days_left, time_left

# Every text, by key; English is the message id, the Dutch is in the catalog.
_TEXT: Mapping[str, str] = {
    "h.package": N_("package"),
    "h.seq": N_("seq"),
    "h.state": N_("state"),
    "h.records": N_("records"),
    "h.valid": N_("valid until"),
    "state.live": N_("in use"),
    "state.superseded": N_("superseded"),
    "state.terminated": N_("protocol terminated"),
    "state.expired": N_("destroyed (retention)"),
    "state.tampered": N_("destroyed (database edited)"),
    "state.lost": N_("lost (key destroyed)"),
    "state.shredded": N_("destroyed"),
    "stale": N_(" (stale: can no longer be opened)"),
    "deadline.1": N_("On {date} 1 record is destroyed (retention deadline)."),
    "deadline.n": N_("On {date} {n} records are destroyed (retention deadline)."),
    "termination": N_(
        "Protocol {protocol} was terminated: its records are destroyed on {date} at the latest."
    ),
    "pending.none": N_("Nothing to return: the agency has every change."),
    "pending.some": N_(
        "Still to return to the agency: {n} change(s) ({stored} stored, {typed} "
        "typed in workbooks). Send them with 'securexchange municipality "
        "return'."
    ),
    "pending.unknown": N_(
        "In {k} workbook(s) the typed changes cannot be counted (see below); "
        "there may be more to return."
    ),
    "book": N_("Workbook {id}, {state}: {path}"),
    "book.open": N_("open"),
    "book.pending": N_("must go but could not be removed yet"),
    "book.harvested": N_(
        "removed; what was typed in it is kept sealed until the next command with your passphrase"
    ),
    "book.changes": N_("  {n} typed change(s) not returned yet."),
    "book.no_changes": N_("  No typed changes."),
    "book.uncounted": N_(
        "  Typed changes cannot be counted without the passphrase (a workbook "
        "of an older version, or unreadable); every command with the passphrase "
        "takes them in."
    ),
    "book.problem": N_("  Problem: {problem}"),
    "key.held": N_(
        "Your key for packages from {start} to {end} is destroyed on {by} at "
        "the latest; after that nobody can open those packages."
    ),
    "key.move": N_(
        "  Data is still encrypted with it: run a command with your passphrase "
        "before {by} (e.g. 'securexchange municipality open'), or it is lost."
    ),
    "key.destroyed": N_(
        "Your key for packages from {start} to {end} was destroyed on {at}; "
        "nobody can open those packages any more."
    ),
    "key.file": N_("  Its key file could not be removed yet; retried at every command."),
    "leftover": N_(
        "Warning: {n} key file(s) of destroyed keys could not be removed yet; "
        "retried at every command."
    ),
    "clock": N_(
        "Warning: this computer's clock is behind the time this home has "
        "already seen; shredding follows that later time."
    ),
    "coming": N_("Coming up:"),
    "incident.ours": N_(
        "Open incident {id}, discovered {discovered}: the notice must reach the agency "
        "by {agency} ({agency_left}); notify the supervisory authority by {authority} "
        "({authority_left}, GDPR art. 33). Add to it or close it with "
        "'municipality incident note' or 'close'."
    ),
    "incident.theirs": N_(
        "Open incident {id} reported by the agency, discovered {discovered}: notify the "
        "supervisory authority by {authority} ({authority_left}, GDPR art. 33) if it "
        "concerns this municipality's processing."
    ),
    "notice.received": N_(
        "The agency gave written notice of the protocol ({decision}), received on "
        "{received}: the protocol ends on {effective}. Send the receipt to the agency."
    ),
    "notice.given": N_(
        "This municipality gave written notice of the protocol ({decision}): the agency "
        "records the end, three months after it receives the notice, in the keyring."
    ),
    "quality.waiting": N_(
        "Quality report of {reported}, returned to the agency: its answer is due by {due} "
        "({left}, protocol art. 7)."
    ),
    "quality.overdue": N_(
        "Overdue: the agency's answer to the quality report of {reported} was due by {due} "
        "({left}, protocol art. 7). Ask the agency for it."
    ),
    "quality.answered": N_(
        "The quality report of {reported} was answered in package {package} of {at}: "
        "the outcome is in the workbook, column 'Afhandeling melding'."
    ),
    "shred.last": N_("Last shredding run: {at}."),
    "shred.never": N_("No shredding run yet."),
}


@dataclass(frozen=True)
class StatusText:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    lines: tuple[str, ...]


def _day(instant: str | None) -> str:
    # The documents' instants are UTC (YYYY-MM-DDTHH:MM:SSZ); staff plan by the day, and
    # read it as they write it ("1 maart 2027").
    if instant is None:
        return ""
    try:
        return long_date(date.fromisoformat(instant[:10]))
    except ValueError:  # an edited value in the state database: shown as it is, escaped
        return escape(instant)


def _when(instant: str) -> str:
    return instant.replace("T", " ").replace("Z", " UTC")


def render(doc: Mapping[str, Any]) -> StatusText:
    """The human form of a status document, in the active language."""
    t = {key: _(text) for key, text in _TEXT.items()}
    rows = tuple(
        (
            str(p["id"]),
            str(p["sequence"]),
            t.get(f"state.{p['state']}", str(p["state"])) + (t["stale"] if p["stale"] else ""),
            str(p["records"]),
            _day(p["valid_until"]),
        )
        for p in doc["packages"]
    )
    lines: list[str] = []
    if doc.get("clock_behind"):
        lines.append(t["clock"])
    # Shredding and terminations have their own lines below, with more detail.
    soon = [
        e
        for e in _events(doc.get("coming", ()))
        if e.kind in (EventKind.KEYS_RUN_OUT, EventKind.PROTOCOL_ENDS)
    ]
    if soon:
        lines.append(t["coming"])
        lines.extend(f"  {describe(e)}" for e in soon)
    for d in doc["next_deadlines"]:
        n = int(d["records"])
        lines.append(t["deadline.1" if n == 1 else "deadline.n"].format(date=_day(d["date"]), n=n))
    for term in doc["terminations"]:
        lines.append(
            t["termination"].format(protocol=escape(term["protocol"]), date=_day(term["effective"]))
        )
    lines.extend(_incidents(doc, t))
    lines.extend(_written_notices(doc, t))
    lines.extend(_quality_reports(doc, t))
    lines.extend(_pending(doc, t))
    for book in doc["workbooks"]:
        lines.extend(_book(book, t))
    for key in doc["subkeys"]:
        lines.extend(_key(key, doc["now"], t))
    if doc["leftover_subkey_files"]:
        lines.append(t["leftover"].format(n=doc["leftover_subkey_files"]))
    last = doc["last_shred"]
    lines.append(t["shred.never"] if last is None else t["shred.last"].format(at=_when(last)))
    headers = tuple(t[h] for h in ("h.package", "h.seq", "h.state", "h.records", "h.valid"))
    return StatusText(headers, rows, tuple(lines))


def _events(items: Sequence[Mapping[str, Any]]) -> list[Event]:
    found = []
    for item in items:
        try:
            found.append(
                Event(
                    EventKind(item["kind"]),
                    date.fromisoformat(item["on"]),
                    str(item["who"]),
                    int(item["records"]),
                )
            )
        except (KeyError, ValueError, TypeError):
            continue  # a document of another version: nothing to say about it
    return found


def _pending(doc: Mapping[str, Any], t: Mapping[str, str]) -> list[str]:
    total = int(doc["pending_edits"])
    lines = [
        t["pending.none"]
        if total == 0
        else t["pending.some"].format(
            n=total,
            stored=doc["pending_edits_stored"],
            typed=doc["pending_edits_in_workbooks"],
        )
    ]
    uncounted = sum(1 for b in doc["workbooks"] if b["typed_changes"] is None)
    if uncounted:
        if total == 0:
            lines = []
        lines.append(t["pending.unknown"].format(k=uncounted))
    return lines


def _book(book: Mapping[str, Any], t: Mapping[str, str]) -> Sequence[str]:
    state = t.get(f"book.{book['state']}", str(book["state"]))
    lines = [t["book"].format(id=escape(book["id"]), state=state, path=escape(book["path"]))]
    changes = book["typed_changes"]
    if changes is None:
        lines.append(t["book.uncounted"])
    else:
        lines.append(t["book.changes"].format(n=changes) if changes else t["book.no_changes"])
    if book["problem"]:
        lines.append(t["book.problem"].format(problem=escape(shown_problem(book["problem"]))))
    return lines


def _key(key: Mapping[str, Any], now: str, t: Mapping[str, str]) -> Sequence[str]:
    start, end = _day(key["valid_from"]), _day(key["valid_until"])
    if key["state"] == "held":
        by = _day(key["destroy_by"])
        lines = [t["key.held"].format(start=start, end=end, by=by)]
        # A key past its period that still holds data: what a passphrase command would
        # move to the current key is lost at its destruction.
        if key["needed"] and key["valid_until"] <= now:
            lines.append(t["key.move"].format(by=by))
        return lines
    lines = [t["key.destroyed"].format(start=start, end=end, at=_day(key["destroyed_at"]))]
    if key["file_remains"]:
        lines.append(t["key.file"])
    return lines


def _incidents(doc: Mapping[str, Any], t: Mapping[str, str]) -> list[str]:
    now = read_instant(str(doc["now"]), N_("the status time"))

    def left(due: str | None) -> str:
        return time_left(None if due is None else read_instant(due, N_("a deadline")), now)

    return [
        t["incident.ours" if item["ours"] else "incident.theirs"].format(
            id=escape(str(item["incident"])),
            discovered=_when(str(item["discovered_at"])),
            agency=_when(str(item["agency_due"] or "-")),
            agency_left=left(item["agency_due"]),
            authority=_when(str(item["authority_due"])),
            authority_left=left(item["authority_due"]),
        )
        for item in doc.get("incidents", ())
    ]


def _written_notices(doc: Mapping[str, Any], t: Mapping[str, str]) -> list[str]:
    return [
        t["notice.received" if item["given_by"] == "agency" else "notice.given"].format(
            decision=escape(str(item["decision"])),
            received=_day(item["received_on"]),
            effective=_day(item["effective"]),
        )
        for item in doc.get("notices", ())
    ]


def _quality_reports(doc: Mapping[str, Any], t: Mapping[str, str]) -> list[str]:
    today = date.fromisoformat(str(doc["now"])[:10])
    lines = []
    for item in doc.get("quality_reports", ()):
        due = date.fromisoformat(str(item["due_on"]))
        key = "quality.overdue" if item["overdue"] else "quality.waiting"
        lines.append(
            t["quality.answered" if item["answered_in"] else key].format(
                reported=_day(item["reported_at"]),
                due=long_date(due),
                left=days_left(due, today),
                package=escape(str(item["answered_in"])),
                at=_day(item["answered_at"]),
            )
        )
    return lines
