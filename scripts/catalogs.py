"""The Dutch message catalog: extract the marked messages, merge them in, compile.

    python scripts/catalogs.py           # update the .po from the code and compile the .mo
    python scripts/catalogs.py --check   # exit 1 when the .po or the .mo is not current

Messages are marked in the code with ``_()``, ``N_()`` and ``ngettext()``
(``securexchange.i18n``); translations are written by hand in
``src/securexchange/locale/nl/LC_MESSAGES/securexchange.po`` (see docs/glossary.md for
the words). ``tests/test_catalogs.py`` fails when a marked message has no Dutch text,
when a translation drops a placeholder, or when the compiled ``.mo`` is stale.
"""

from __future__ import annotations

import gettext
import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "securexchange"
CATALOG_DIR = PACKAGE / "locale" / "nl" / "LC_MESSAGES"
PO = CATALOG_DIR / "securexchange.po"
MO = CATALOG_DIR / "securexchange.mo"
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def extracted() -> Catalog:
    """Every message the code marks, with where it is used."""
    template = Catalog(domain="securexchange", project="securexchange")
    for filename, lineno, message, comments, context in extract_from_dir(
        PACKAGE,
        # The app's pages mark their texts as the code does: {{ _("...") }}.
        method_map=[("**.py", "python"), ("**/templates/**.html", "jinja2")],
        keywords=KEYWORDS,
        comment_tags=("TRANSLATORS:",),
        strip_comment_tags=True,
    ):
        where = f"securexchange/{filename}"
        template.add(message, None, [(where, lineno)], auto_comments=comments, context=context)
    return template


def read_catalog() -> Catalog:
    with PO.open("rb") as handle:
        return read_po(handle, locale="nl_BE", domain="securexchange")


def merged() -> Catalog:
    """The Dutch catalog updated with the code's messages (new ones untranslated)."""
    catalog = read_catalog() if PO.exists() else _new_catalog()
    catalog.update(
        extracted(), no_fuzzy_matching=True, update_header_comment=False, update_creation_date=False
    )
    catalog.obsolete.clear()  # a message the code no longer uses is gone, not kept
    return catalog


def _new_catalog() -> Catalog:
    catalog = Catalog(
        locale="nl_BE",
        domain="securexchange",
        header_comment="# The Dutch (nl-BE) messages of securexchange. Words: docs/glossary.md.",
        project="securexchange",
        version="1",
        copyright_holder="securexchange",
        msgid_bugs_address="-",
        last_translator="securexchange",
        language_team="nl-BE",
        fuzzy=False,
    )
    return catalog


def po_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    # No line numbers: they would change with every edit of a file that has messages.
    write_po(out, catalog, width=96, sort_output=False, no_location=True)
    return out.getvalue()


def mo_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def compiled(data: bytes) -> dict[object, str]:
    """What gettext reads from a compiled catalog."""
    return dict(gettext.GNUTranslations(io.BytesIO(data))._catalog)  # type: ignore[attr-defined]


def problems() -> list[str]:
    """Why the committed catalog is not current (empty when it is)."""
    found = []
    code = {m.id for m in extracted() if m.id}
    held = read_catalog()
    listed = {m.id for m in held if m.id}
    found += [f"not in the catalog: {m!r}" for m in sorted(code - listed, key=str)]
    found += [f"no longer in the code: {m!r}" for m in sorted(listed - code, key=str)]
    if compiled(MO.read_bytes()) != compiled(mo_bytes(held)):
        found.append("the .mo is not the compiled .po")
    return found


def main(argv: list[str]) -> int:
    catalog = merged()
    if "--check" in argv:
        if not (PO.exists() and MO.exists()) or problems():
            print("catalog not current: run python scripts/catalogs.py", file=sys.stderr)
            return 1
        return 0
    CATALOG_DIR.mkdir(parents=True, exist_ok=True)
    PO.write_bytes(po_bytes(catalog))
    MO.write_bytes(mo_bytes(read_catalog()))
    missing = [m.id for m in read_catalog() if m.id and not m.string]
    print(f"{PO.relative_to(ROOT)}: {len(catalog)} messages, {len(missing)} without Dutch text")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
