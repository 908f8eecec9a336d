"""What ``municipality status`` says to staff: Dutch first, English on request.

All of the command's human wording is here, per language (a later catalog replaces
this table); :func:`render` turns the JSON-ready document of
:mod:`securexchange.municipality.status` into a table and lines. Staff read what a
state means for them, with dates, not key names: "your key for packages from ... to ...
is destroyed on ...". The language is ``SECUREXCHANGE_LANG`` (``nl``, the default, or
``en``; docs/cli.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from securexchange.printable import escape

LANG_VARIABLE = "SECUREXCHANGE_LANG"

TEXT: Mapping[str, Mapping[str, str]] = {
    "nl": {
        "h.package": "pakket",
        "h.seq": "nr",
        "h.state": "toestand",
        "h.records": "dossiers",
        "h.valid": "geldig tot",
        "state.live": "in gebruik",
        "state.superseded": "vervangen",
        "state.terminated": "protocol beëindigd",
        "state.expired": "vernietigd (bewaartermijn)",
        "state.tampered": "vernietigd (database gewijzigd)",
        "state.lost": "verloren (sleutel vernietigd)",
        "state.shredded": "vernietigd",
        "stale": " (vervallen: niet meer te openen)",
        "deadline.1": "Op {date} wordt 1 dossier vernietigd (bewaartermijn).",
        "deadline.n": "Op {date} worden {n} dossiers vernietigd (bewaartermijn).",
        "termination": (
            "Protocol {protocol} is beëindigd: de dossiers ervan worden uiterlijk op "
            "{date} vernietigd."
        ),
        "pending.none": "Niets terug te sturen: het Agentschap heeft alle wijzigingen.",
        "pending.some": (
            "Nog terug te sturen naar het Agentschap: {n} wijziging(en) ({stored} "
            "opgeslagen, {typed} getypt in werkboeken). Stuur ze met "
            "'securexchange municipality return'."
        ),
        "pending.unknown": (
            "In {k} werkboek(en) kan het aantal getypte wijzigingen niet geteld worden "
            "(zie hieronder); er kan dus meer terug te sturen zijn."
        ),
        "book": "Werkboek {id}, {state}: {path}",
        "book.open": "open",
        "book.pending": "moet weg maar kon nog niet verwijderd worden",
        "book.harvested": (
            "verwijderd; wat erin getypt was, is verzegeld bewaard tot de volgende "
            "opdracht met uw wachtwoordzin"
        ),
        "book.changes": "  {n} getypte wijziging(en) nog niet teruggestuurd.",
        "book.no_changes": "  Geen getypte wijzigingen.",
        "book.uncounted": (
            "  Getypte wijzigingen niet te tellen zonder wachtwoordzin (werkboek van een "
            "oudere versie, of onleesbaar); elke opdracht met wachtwoordzin neemt ze op."
        ),
        "book.problem": "  Probleem: {problem}",
        "key.held": (
            "Uw sleutel voor pakketten van {start} tot {end} wordt uiterlijk op {by} "
            "vernietigd; daarna kan niemand die pakketten nog openen."
        ),
        "key.move": (
            "  Er is nog gegevens mee versleuteld: voer vóór {by} een opdracht met uw "
            "wachtwoordzin uit (bv. 'securexchange municipality open'), anders gaan die "
            "verloren."
        ),
        "key.destroyed": (
            "Uw sleutel voor pakketten van {start} tot {end} is vernietigd op {at}; "
            "niemand kan die pakketten nog openen."
        ),
        "key.file": (
            "  Het sleutelbestand kon nog niet verwijderd worden; dat wordt bij elke "
            "opdracht opnieuw geprobeerd."
        ),
        "leftover": (
            "Let op: {n} sleutelbestand(en) van vernietigde sleutels kon(den) nog niet "
            "verwijderd worden; dat wordt bij elke opdracht opnieuw geprobeerd."
        ),
        "clock": (
            "Let op: de klok van deze computer loopt achter op de tijd die deze map al "
            "zag; er wordt vernietigd volgens die latere tijd."
        ),
        "shred.last": "Laatste vernietigingsronde: {at}.",
        "shred.never": "Nog geen vernietigingsronde.",
    },
    "en": {
        "h.package": "package",
        "h.seq": "seq",
        "h.state": "state",
        "h.records": "records",
        "h.valid": "valid until",
        "state.live": "in use",
        "state.superseded": "superseded",
        "state.terminated": "protocol terminated",
        "state.expired": "destroyed (retention)",
        "state.tampered": "destroyed (database edited)",
        "state.lost": "lost (key destroyed)",
        "state.shredded": "destroyed",
        "stale": " (stale: can no longer be opened)",
        "deadline.1": "On {date} 1 record is destroyed (retention deadline).",
        "deadline.n": "On {date} {n} records are destroyed (retention deadline).",
        "termination": (
            "Protocol {protocol} was terminated: its records are destroyed on {date} at the latest."
        ),
        "pending.none": "Nothing to return: the agency has every change.",
        "pending.some": (
            "Still to return to the agency: {n} change(s) ({stored} stored, {typed} typed "
            "in workbooks). Send them with 'securexchange municipality return'."
        ),
        "pending.unknown": (
            "In {k} workbook(s) the typed changes cannot be counted (see below); there may "
            "be more to return."
        ),
        "book": "Workbook {id}, {state}: {path}",
        "book.open": "open",
        "book.pending": "must go but could not be removed yet",
        "book.harvested": (
            "removed; what was typed in it is kept sealed until the next command with "
            "your passphrase"
        ),
        "book.changes": "  {n} typed change(s) not returned yet.",
        "book.no_changes": "  No typed changes.",
        "book.uncounted": (
            "  Typed changes cannot be counted without the passphrase (a workbook of an "
            "older version, or unreadable); every command with the passphrase takes them in."
        ),
        "book.problem": "  Problem: {problem}",
        "key.held": (
            "Your key for packages from {start} to {end} is destroyed on {by} at the "
            "latest; after that nobody can open those packages."
        ),
        "key.move": (
            "  Data is still encrypted with it: run a command with your passphrase before "
            "{by} (e.g. 'securexchange municipality open'), or it is lost."
        ),
        "key.destroyed": (
            "Your key for packages from {start} to {end} was destroyed on {at}; nobody can "
            "open those packages any more."
        ),
        "key.file": ("  Its key file could not be removed yet; retried at every command."),
        "leftover": (
            "Warning: {n} key file(s) of destroyed keys could not be removed yet; retried "
            "at every command."
        ),
        "clock": (
            "Warning: this computer's clock is behind the time this home has already seen; "
            "shredding follows that later time."
        ),
        "shred.last": "Last shredding run: {at}.",
        "shred.never": "No shredding run yet.",
    },
}


def language(value: str | None) -> str:
    """The language for ``SECUREXCHANGE_LANG``'s value: English when it asks for it,
    Dutch otherwise (also when unset or unknown: staff read Dutch first)."""
    if value and value.strip().lower().replace("_", "-").split("-")[0] == "en":
        return "en"
    return "nl"


@dataclass(frozen=True)
class StatusText:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    lines: tuple[str, ...]


def _day(instant: str | None) -> str:
    # The documents' instants are UTC (YYYY-MM-DDTHH:MM:SSZ); staff plan by the day.
    return "" if instant is None else instant[:10]


def _when(instant: str) -> str:
    return instant.replace("T", " ").replace("Z", " UTC")


def render(doc: Mapping[str, Any], lang: str = "nl") -> StatusText:
    """The human form of a status document in ``lang`` (``nl`` or ``en``)."""
    t = TEXT[lang if lang in TEXT else "nl"]
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
    for d in doc["next_deadlines"]:
        n = int(d["records"])
        lines.append(t["deadline.1" if n == 1 else "deadline.n"].format(date=d["date"], n=n))
    for term in doc["terminations"]:
        lines.append(
            t["termination"].format(
                protocol=escape(term["protocol"]), date=escape(term["effective"])
            )
        )
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
        lines.append(t["book.problem"].format(problem=escape(book["problem"])))
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
