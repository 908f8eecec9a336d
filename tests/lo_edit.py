"""Edit cells of a workbook in LibreOffice Calc, through UNO, and save it as .xlsx.

Run by the system python, where Debian's python3-uno lives (not the project's venv):
``/usr/bin/python3 tests/lo_edit.py JOB``, JOB a JSON object with

* ``soffice``: the soffice binary; ``profile``: a private user-profile directory;
  ``pipe``: a pipe name unique to this run (so parallel runs never share an office);
* ``input`` and ``output``: the workbook to load and where to store it;
* ``edits``: a list of ``{"sheet", "cell", "text"}`` (text set as a text cell, as typed)
  or ``{"sheet", "cell", "formula"}`` (set as typed into the cell). The sheet API
  writes locked cells of a protected sheet too: protection guards the user interface.

It starts its own headless soffice, loads the workbook hidden, makes the edits through
the sheet API, stores it with the filter "Calc MS Excel 2007 XML", closes the document
and terminates the office. Exit status 0 only when every edit reads back as made.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import uno

FILTER = "Calc MS Excel 2007 XML"


def prop(name: str, value: Any) -> Any:
    struct = uno.createUnoStruct("com.sun.star.beans.PropertyValue")
    struct.Name = name
    struct.Value = value
    return struct


def connect(pipe: str, office: subprocess.Popen[bytes], timeout: float) -> Any:
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local
    )
    no_connection = uno.getClass("com.sun.star.connection.NoConnectException")
    deadline = time.monotonic() + timeout
    while True:
        try:
            return resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
        except no_connection:
            if office.poll() is not None:
                raise SystemExit(f"soffice exited with {office.returncode}") from None
            if time.monotonic() > deadline:
                raise SystemExit("soffice did not accept a connection in time") from None
            time.sleep(0.2)


def main() -> int:
    job = json.loads(sys.argv[1])
    profile = Path(job["profile"]).resolve().as_uri()
    office = subprocess.Popen(
        [
            job["soffice"],
            "--headless",
            "--invisible",
            "--norestore",
            "--nologo",
            "--nodefault",
            "--nolockcheck",
            f"-env:UserInstallation={profile}",
            f"--accept=pipe,name={job['pipe']};urp;StarOffice.ComponentContext",
        ]
    )
    try:
        context = connect(job["pipe"], office, timeout=90)
        desktop = context.ServiceManager.createInstanceWithContext(
            "com.sun.star.frame.Desktop", context
        )
        source = Path(job["input"]).resolve().as_uri()
        target = Path(job["output"]).resolve().as_uri()
        document = desktop.loadComponentFromURL(source, "_blank", 0, (prop("Hidden", True),))
        if document is None:
            print("the workbook did not load", file=sys.stderr)
            return 1
        failed = False
        sheets = document.getSheets()
        for edit in job["edits"]:
            sheet = sheets.getByName(edit["sheet"])
            cell = sheet.getCellRangeByName(edit["cell"])
            if "formula" in edit:
                cell.setFormula(edit["formula"])
                made = cell.getFormula() == edit["formula"]
            else:
                cell.setString(edit["text"])
                made = cell.getString() == edit["text"]
            if not made:
                print(f"edit of {edit['cell']} did not take", file=sys.stderr)
                failed = True
        document.storeToURL(target, (prop("FilterName", FILTER), prop("Overwrite", True)))
        document.close(True)
        # The bridge may go away while the office quits.
        with contextlib.suppress(Exception):
            desktop.terminate()
        office.wait(timeout=30)
        return 1 if failed else 0
    finally:
        if office.poll() is None:
            office.kill()
            office.wait()


if __name__ == "__main__":
    sys.exit(main())
