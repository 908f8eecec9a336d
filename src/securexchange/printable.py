"""Text that is safe to show on a terminal: no character of a name can forge output.

A file name, a card's owner name or a workbook cell is attacker-chosen. Printed raw, a
newline in it forges a line of ``audit verify``'s report ("... verified"), a carriage
return or an ANSI escape overwrites what was printed before, and a bidi override
(U+202E) shows ``gpj.exe`` as ``exe.jpg``. Every character that is not a visible glyph
or a plain space is therefore shown as an escape sequence:

- Unicode categories Cc (C0/C1 controls, DEL, including newline, tab and ESC) and Cf
  (format characters: bidi embeddings, overrides and isolates, zero-width joiners,
  the byte-order mark, tag characters);
- Zl and Zp (U+2028, U+2029), which some terminals and viewers treat as line breaks;
- Cs, lone surrogates: how Python carries the undecodable bytes of a file name
  (``surrogateescape``); printing one would otherwise raise.

:func:`escape` is for values (it also doubles the backslash, so ``a\\nb`` and a name
holding a real newline print differently); :func:`neutralise` is the last guard over
whole messages the program composed itself, which may hold backslashes of their own.
"""

from __future__ import annotations

import unicodedata

UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def is_unsafe(char: str) -> bool:
    """True for a character that must never reach a terminal as itself."""
    return unicodedata.category(char) in UNSAFE_CATEGORIES


def _escaped(char: str) -> str:
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def escape(value: str) -> str:
    """``value`` with every unsafe character (newline included) and the backslash escaped.

    The result is one line of visible characters; distinct values stay distinct.
    """
    if value.isprintable() and "\\" not in value:
        return value  # the common case: nothing to do (isprintable is False for all unsafe)
    out = []
    for char in value:
        if char == "\\":
            out.append("\\\\")
        elif is_unsafe(char):
            out.append(_escaped(char))
        else:
            out.append(char)
    return "".join(out)


def neutralise(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every unsafe character escaped; backslashes are left alone.

    For messages the program composed (values in them went through :func:`escape`
    already): a last guard, so a value that was missed still cannot forge output.
    ``keep_newlines`` keeps the line breaks of a multi-line message of our own.
    """
    if text.isprintable():
        return text
    return "".join(
        _escaped(c) if is_unsafe(c) and not (keep_newlines and c == "\n") else c for c in text
    )


def escape_json(document: str) -> str:
    """A JSON document with every unsafe character inside it written as ``\\uXXXX``.

    ``json.dumps`` escapes only U+0000..U+001F; a bidi override or a C1 control in a
    string would reach the terminal raw. The result decodes to the same value (JSON
    allows the ``\\u`` form anywhere in a string, and unsafe characters occur only in
    strings). Characters beyond the BMP become a surrogate pair, as JSON requires.
    """
    if document.replace("\n", "").isprintable():
        return document  # the common case: only the layout's own line breaks
    out = []
    for char in document:
        if char == "\n" or not is_unsafe(char):
            out.append(char)  # the layout's own newlines (string newlines are already \n)
            continue
        code = ord(char)
        if code > 0xFFFF:
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
        else:
            out.append(f"\\u{code:04x}")
    return "".join(out)
