"""Parsing TOML (scenario.toml, policy variants, calibration parameters) without a traceback.

Why a module of its own: `tomllib` recurses once per level of nested arrays or inline tables, so
`x = [[[[…]]]]` a few hundred levels deep raises RecursionError, which no caller expects. Here it
becomes a `TOMLDecodeError` whose message ends in "(at line L, column C)" like tomllib's own, so
every reader that reports a syntax error at its place reports this one too.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

#: Depth reported as "too deep" when tomllib runs out of stack (no real scenario nests beyond 3).
MAX_TOML_DEPTH = 64


def loads_toml(text: str) -> dict[str, Any]:
    """`tomllib.loads(text)`; nesting beyond Python's stack is a TOMLDecodeError at its place."""
    try:
        return tomllib.loads(text)
    except RecursionError:
        line, col = deep_nesting_position(text)
        raise tomllib.TOMLDecodeError(
            f"nested too deeply (more than {MAX_TOML_DEPTH} levels of arrays or inline tables) "
            f"(at line {line}, column {col})"
        ) from None


def toml_error(exc: tomllib.TOMLDecodeError, source: str | None = None) -> tuple[int, int, str]:
    """(line, column, reason) of a TOML syntax error: Python 3.11 keeps the place only in the
    message ("… (at line L, column C)"), so it is read from there. An error "at end of document"
    (an unterminated string, a table header without its ']' on the last line) is placed just
    after the last character of `source`; (0, 0) when there is no place to give."""
    text = str(exc)
    m = re.search(r"\(at line (\d+), column (\d+)\)", text)
    line, col = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
    if m is None and source is not None and text.endswith("(at end of document)"):
        line = source.count("\n") + 1
        col = len(source) - (source.rfind("\n") + 1) + 1
        text = text.removesuffix(" (at end of document)") + " at the end of the file"
    return line, col, re.sub(r" \(at line \d+, column \d+\)$", "", text)


def deep_nesting_position(text: str, limit: int = MAX_TOML_DEPTH) -> tuple[int, int]:
    """1-based (line, column) of the bracket where arrays or inline tables first nest deeper than
    `limit` (or of the deepest one), skipping strings and comments; (1, 1) for an empty text."""
    depth = deepest = 0
    where = (1, 1)
    line, col = 1, 0
    i, n = 0, len(text)
    quote = ""  # the open string's delimiter: ', ", ''' or """
    while i < n:
        ch = text[i]
        col += 1
        if ch == "\n":
            line, col = line + 1, 0
            i += 1
            continue
        if quote:
            if quote[0] == '"' and ch == "\\" and text[i + 1 : i + 2] not in ("", "\n"):
                i += 2
                col += 1
                continue
            if text.startswith(quote, i):
                i += len(quote)
                col += len(quote) - 1
                quote = ""
                continue
            i += 1
            continue
        if ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if ch in "\"'":
            quote = ch * 3 if text.startswith(ch * 3, i) else ch
            i += len(quote)
            col += len(quote) - 1
            continue
        if ch in "[{":
            depth += 1
            if depth > deepest:
                deepest, where = depth, (line, col)
                if depth > limit:
                    return where
        elif ch in "]}":
            depth = max(0, depth - 1)
        i += 1
    return where
