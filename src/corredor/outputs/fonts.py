"""Fonts for the figures' labels: place names in any script, drawn or reported, never silent boxes.

matplotlib draws every label in one font (DejaVu Sans), which has Latin, Greek, Cyrillic, Arabic
and Hebrew but no CJK, Ethiopic or Myanmar script, for example. A place named in such a script
came out as boxes, with one matplotlib warning per character. `label_fonts` finds, among the
installed fonts, ones that have the characters DejaVu Sans lacks, so that a text drawn with its
families falls back to them glyph by glyph (matplotlib ≥ 3.6 takes a list of families), and names
the characters no installed font has; `quiet_missing_glyphs` says once, in words, what cannot be
drawn and how to fix it. The families are given to each text that shows a place name, not set
in matplotlib's global rcParams, so figures can still be made side by side.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

BASE_FAMILY = "DejaVu Sans"  # matplotlib's own, always installed with it
_NOT_FALLBACKS = ("Last Resort",)  # draws every character, as a box naming its Unicode block


@dataclass(frozen=True)
class FontChoice:
    """The families to draw labels with (base first), and the characters none of them has."""

    families: tuple[str, ...]
    missing: str


@functools.lru_cache(maxsize=1)
def _font_files() -> dict[str, str]:
    """Every installed family matplotlib knows → the file a normal label of it is drawn from
    (upright, normal weight and width first), Last Resort left out."""
    from matplotlib import font_manager

    def regular_first(entry: font_manager.FontEntry) -> tuple[bool, float, bool]:
        w = entry.weight  # a number, or a name such as "bold"
        weight = w if isinstance(w, int) else font_manager.weight_dict.get(w, w)
        return (entry.style != "normal", abs(float(weight) - 400.0), entry.stretch != "normal")

    files: dict[str, font_manager.FontEntry] = {}
    for entry in font_manager.fontManager.ttflist:
        best = files.get(entry.name)
        if not entry.name.startswith(_NOT_FALLBACKS) and (
                best is None or regular_first(entry) < regular_first(best)):
            files[entry.name] = entry
    return {name: files[name].fname for name in sorted(files)}


@functools.cache
def _charmap(family: str) -> frozenset[int]:
    """The code points a family's file has (none if it cannot be read)."""
    from matplotlib import ft2font

    path = _font_files().get(family)
    try:
        return frozenset(ft2font.FT2Font(path).get_charmap()) if path else frozenset()
    except (OSError, RuntimeError, ValueError):  # an unreadable font file: not a candidate
        return frozenset()


def label_fonts(texts: Iterable[str]) -> FontChoice:
    """The base family, then (greedily, the font that has most of what is still lacking first)
    installed fonts for the characters of `texts` that the base family lacks; and the characters
    that no installed font has (whitespace and control characters are never counted)."""
    wanted = {ord(ch) for text in texts for ch in str(text) if ch.isprintable() and not ch.isspace()}
    lacking = wanted - _charmap(BASE_FAMILY)
    families = [BASE_FAMILY]
    others = [f for f in _font_files() if f != BASE_FAMILY] if lacking else []  # read if needed
    while lacking and others:
        best = max(others, key=lambda f: len(lacking & _charmap(f)))
        if not lacking & _charmap(best):
            break
        families.append(best)
        lacking -= _charmap(best)
    return FontChoice(tuple(families), "".join(sorted(chr(c) for c in lacking)))


@contextlib.contextmanager
def quiet_missing_glyphs(figures: Iterable[Any], what: str) -> Iterator[None]:
    """Within: `figures` saved without matplotlib's warning a missing character; one warning
    instead, naming every character of their texts that no installed font has."""
    from matplotlib.text import Text

    missing = label_fonts(t.get_text() for fig in figures for t in fig.findobj(Text)).missing
    if not missing:
        yield
        return
    shown = missing if len(missing) <= 12 else missing[:12] + "…"
    warnings.warn(f"{what}: no installed font has the characters {shown!r} of some place names, "
                  "so they show as boxes there (tables and report.html keep the names); install "
                  "a font that has them (for CJK script, Debian's fonts-noto-cjk)",
                  UserWarning, stacklevel=3)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
        yield
