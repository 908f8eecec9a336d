"""Strict JSON: what every manifest, card, keyring and log line is parsed with.

Rejected: invalid UTF-8, a byte-order mark, duplicate keys, NaN/Infinity, floats,
excessive nesting, a lone surrogate escape (``"\\ud800"``: valid JSON, but not
Unicode text, so it would fail later wherever the string is encoded or printed), and
(through :class:`Fields`) any field the model does not know.
Written: sorted keys, UTF-8, two-space indent, a final newline; so the same object
always gives the same bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from securexchange.errors import Malformed
from securexchange.i18n import _

JsonValue = Any
T = TypeVar("T")

MAX_DEPTH = 32
# json decodes a \\uXXXX pair into one code point, so any surrogate left is a lone one.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise Malformed(_("duplicate key in JSON"))
        result[key] = value
    return result


def _no_constant(_name: str) -> Any:
    raise Malformed(_("NaN or Infinity in JSON"))


def _no_float(_text: str) -> Any:
    raise Malformed(_("a fractional number in JSON"))


def _text(value: str) -> None:
    if _SURROGATE.search(value):
        raise Malformed(_("a lone surrogate escape in a JSON string"))


def _depth(value: Any, level: int = 0) -> None:
    if level > MAX_DEPTH:
        raise Malformed(_("JSON nested too deeply"))
    if isinstance(value, str):
        _text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _text(key)
            _depth(item, level + 1)
    elif isinstance(value, list):
        for item in value:
            _depth(item, level + 1)


def loads(data: bytes, *, what: str, max_bytes: int = 1 << 20) -> JsonValue:
    """Parse ``data`` strictly; ``what`` names the document in the error message (a text
    marked with ``_`` or ``N_``: it is translated when it is shown)."""
    if len(data) > max_bytes:
        raise Malformed(
            # TRANSLATORS: {what} in these messages names a document, e.g. "the key card".
            _("{what} is larger than {limit} bytes").format(what=_(what), limit=max_bytes)
        )
    if data.startswith(b"\xef\xbb\xbf"):
        raise Malformed(_("{what} starts with a byte-order mark").format(what=_(what)))
    try:
        text = data.decode("utf-8", errors="strict")
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_no_constant,
            parse_float=_no_float,
        )
    except Malformed as exc:
        # TRANSLATORS: {problem} is one of the JSON messages, e.g. "duplicate key in JSON".
        raise Malformed(_("{what}: {problem}").format(what=_(what), problem=exc.message)) from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Malformed(_("{what} is not valid JSON").format(what=_(what))) from None
    try:
        _depth(value)
    except Malformed as exc:
        # TRANSLATORS: {problem} is one of the JSON messages, e.g. "duplicate key in JSON".
        raise Malformed(_("{what}: {problem}").format(what=_(what), problem=exc.message)) from None
    return value


def dumps(value: JsonValue) -> bytes:
    """Deterministic bytes for ``value``."""
    return (
        json.dumps(value, sort_keys=True, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    ).encode("utf-8")


def dumps_line(value: JsonValue) -> bytes:
    """Deterministic single-line bytes for ``value`` (log lines), without newline."""
    return json.dumps(
        value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


class Fields:
    """Takes typed fields out of a JSON object and refuses whatever is left over.

    ``with Fields(obj, "manifest") as f: x = f.text("id")`` raises :class:`Malformed`
    for a missing field, a field of the wrong type, or an unknown field. ``what`` names
    the object as for :func:`loads`.
    """

    def __init__(self, value: JsonValue, what: str) -> None:
        if not isinstance(value, dict):
            raise Malformed(_("{what} is not a JSON object").format(what=_(what)))
        self._left: dict[str, Any] = dict(value)
        self._what = what

    def __enter__(self) -> Fields:
        return self

    def __exit__(self, exc_type: object, exc: object, _tb: object) -> None:
        if exc_type is None:
            self.done()

    def done(self) -> None:
        if self._left:
            raise Malformed(_("{what} has an unknown field").format(what=_(self._what)))

    def _take(self, key: str, kind: type[T] | tuple[type, ...], optional: bool) -> Any:
        if key not in self._left:
            if optional:
                return None
            # TRANSLATORS: {key} is the field's name in the file (not translated).
            raise Malformed(_("{what} lacks the field '{key}'").format(what=_(self._what), key=key))
        value = self._left.pop(key)
        if value is None and optional:
            return None
        # bool is an int in Python; never accept one for the other.
        if isinstance(value, bool) and kind is not bool:
            raise Malformed(
                _("{what}: field '{key}' has the wrong type").format(what=_(self._what), key=key)
            )
        if not isinstance(value, kind):
            raise Malformed(
                _("{what}: field '{key}' has the wrong type").format(what=_(self._what), key=key)
            )
        return value

    def text(self, key: str) -> str:
        value: str = self._take(key, str, False)
        return value

    def opt_text(self, key: str) -> str | None:
        value: str | None = self._take(key, str, True)
        return value

    def integer(self, key: str) -> int:
        value: int = self._take(key, int, False)
        return value

    def opt_integer(self, key: str) -> int | None:
        value: int | None = self._take(key, int, True)
        return value

    def boolean(self, key: str) -> bool:
        value: bool = self._take(key, bool, False)
        return value

    def array(self, key: str) -> list[Any]:
        value: list[Any] = self._take(key, list, False)
        return value

    def opt_array(self, key: str) -> list[Any] | None:
        value: list[Any] | None = self._take(key, list, True)
        return value

    def object(self, key: str) -> dict[str, Any]:
        value: dict[str, Any] = self._take(key, dict, False)
        return value

    def opt_object(self, key: str) -> dict[str, Any] | None:
        value: dict[str, Any] | None = self._take(key, dict, True)
        return value

    def each(self, key: str, parse: Callable[[JsonValue], T]) -> list[T]:
        return [parse(item) for item in self.array(key)]
