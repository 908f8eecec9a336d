"""The incident form: the text file staff fill in with what GDPR art. 33(3) asks.

One field per line, ``name: value``; a line that starts with a space or tab continues
the field above; empty lines and lines starting with ``#`` are skipped. The names are
Dutch or English (``aard``/``nature``, ...). Numbers are approximate counts. The form
never travels in argv (it may describe people): it is a file or stdin. Pure.
"""

from __future__ import annotations

from securexchange.artifacts.incident import IncidentDetails
from securexchange.errors import UsageError
from securexchange.i18n import _

MAX_FORM_BYTES = 64 << 10
# Field name in the form (Dutch, English) -> IncidentDetails attribute.
NAMES = {
    "aard": "nature",
    "nature": "nature",
    "categorieen": "categories",
    "categories": "categories",
    "personen": "people",
    "people": "people",
    "records": "records",
    "contact": "dpo_contact",
    "dpo-contact": "dpo_contact",
    "gevolgen": "consequences",
    "consequences": "consequences",
    "maatregelen": "measures",
    "measures": "measures",
}


def parse_form(data: bytes) -> IncidentDetails:
    """The details a form states; UsageError (naming the line, never its text)."""
    if len(data) > MAX_FORM_BYTES:
        raise UsageError(_("the incident form is larger than 64 KiB"))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(_("the incident form is not UTF-8 text")) from None
    values: dict[str, str] = {}
    current: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0] in " \t":
            if current is None:
                raise UsageError(
                    _("incident form line {n}: a continuation without a field").format(n=number)
                )
            values[current] = f"{values[current]}\n{line.strip()}".strip()
            continue
        name, colon, value = line.partition(":")
        key = NAMES.get(name.strip().lower())
        if not colon or key is None:
            raise UsageError(
                _("incident form line {n}: not a known field").format(n=number),
                hint=_("the fields are: {names}").format(names=", ".join(sorted(set(NAMES)))),
            )
        if key in values:
            raise UsageError(_("incident form line {n}: the field is given twice").format(n=number))
        values[key] = value.strip()
        current = key
    return _details({k: v for k, v in values.items() if v})


def _details(values: dict[str, str]) -> IncidentDetails:
    counts: dict[str, int] = {}
    for name in IncidentDetails.COUNT_FIELDS:
        if name in values:
            raw = values.pop(name).replace(".", "").replace(" ", "").lstrip("~±")
            if not raw.isdigit():
                raise UsageError(_("incident form: '{field}' is a number").format(field=name))
            counts[name] = int(raw)
    try:
        return IncidentDetails(**values, **counts)  # type: ignore[arg-type]
    except ValueError:
        raise UsageError(
            _("incident form: a field is longer than 4000 characters or a number is out of range")
        ) from None
