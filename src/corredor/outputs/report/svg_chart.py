"""The report's time-series charts as inline SVG numbers: `chart` turns lines, bands, dots and
reported observations into polylines, polygons, marks and axis ticks that `macros.html` draws.

Why a module of its own: the run page (`builder`), the ensemble's page (`ensemble`) and the
comparison page (`comparison`) draw their charts with the same code, and none of it reads a run
folder: numbers in, numbers and labels out (the template escapes the labels).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

import numpy as np

#: Series colours: tab10's, the light ones (orange, pink, cyan; 2.3–2.7:1) darkened so that every
#: line has at least 3:1 contrast against the white page (WCAG 1.4.11).
PALETTE = ["#1f77b4", "#d62728", "#2a8a2a", "#c15a00", "#9467bd", "#8c564b", "#b8438f", "#0f7c88"]
#: Dash patterns (SVG stroke-dasharray) that tell lines apart without colour (a red–green
#: colour-blind reader, a greyscale printout): solid first, then six patterns. 7 against the 8
#: colours: the k-th line's pair (PALETTE[k % 8], LINE_DASHES[k % 7]) repeats only after 56 lines.
LINE_DASHES = ["", "7 3", "2 2", "10 3 2 3", "4 4", "12 3 2 3 2 3", "1 3"]
CHART_W, CHART_H = 680, 230
CHART_L, CHART_R, CHART_T, CHART_B = 60, 36, 14, 34


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if not np.isfinite(hi) or hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    return [start + i * step for i in range(int(math.ceil((hi - start) / step)) + 1)]


def _fmt_num(v: float) -> str:
    if v is None or not np.isfinite(v):
        return "–"
    if abs(v) >= 1e6:
        return f"{v / 1e6:.2f} M"
    if abs(v) >= 1e4:
        return f"{v / 1e3:.0f} k"
    return f"{v:,.0f}" if float(v).is_integer() or abs(v) >= 100 else f"{v:,.1f}"


def axis_labels(ticks: list[float]) -> list[str]:
    """An axis's tick labels in one form: all in k (or M) once the top tick reaches 10,000 (or a
    million), with the decimals the step needs ("0, 2.5 k, 5 k, 7.5 k, 10 k"), not `_fmt_num`'s
    per-number choice, which labelled one axis "15 k, 10 k, 5,000, 0"."""
    top = max((abs(t) for t in ticks), default=0.0)
    if top < 1e4:
        return [_fmt_num(t) for t in ticks]
    div, unit = (1e6, " M") if top >= 1e6 else (1e3, " k")
    scaled = [t / div for t in ticks]
    decimals = next((d for d in range(4) if all(abs(x - round(x, d)) < 1e-9 * max(1.0, abs(x)) for x in scaled)), 3)
    return ["0" if abs(x) < 1e-12 else f"{x:,.{decimals}f}{unit}" for x in scaled]


def chart(title: str, y_label: str, dates: list[str | None], lines: list[dict[str, Any]],
          dots: list[dict[str, Any]] | None = None,
          reported: list[dict[str, Any]] | None = None,
          bands: list[dict[str, Any]] | None = None) -> dict[str, Any] | None:
    """A line chart as SVG-ready numbers: polylines, dots, ticks. Labels are escaped by the template.

    `reported` are dated observations ({day, kind, value, low, high, note, color}) drawn as a dot
    (point), a bar (range), a triangle (lower bound) or a diamond labelled "peak by then" at the
    report's date (peak: the most there on some day up to then, its day unknown, `analysis.peak`).
    `bands` are shaded areas between
    two series ({label, low, high, color, opacity}; an ensemble's quantiles), drawn under the
    lines as one polygon per run of days where both edges are known. A line may carry a `title`
    (its tooltip), a `dash` (stroke-dasharray, shown in its legend swatch too), a `width`, and
    `on_top` (drawn after the others, as a reference line must be to stay visible under identical
    ones; the legend keeps the given order). `y_min`/`y_max` of the result are the values at the
    plot's bottom and top; `summary` says each line's highest value and its date (the chart's
    text alternative).
    """
    n = len(dates)
    reported = [r for r in reported or [] if 0 <= r["day"] < n]
    values = [np.asarray(line["y"], dtype=float) for line in lines]
    values += [np.asarray(b[edge], dtype=float) for b in bands or [] for edge in ("low", "high")]
    values += [np.asarray(d["y"], dtype=float) for d in (dots or [])]
    values += [np.asarray([v for v in (r.get("value"), r.get("low"), r.get("high")) if v is not None], dtype=float)
               for r in reported]
    finite = [v[np.isfinite(v)] for v in values]
    finite = [v for v in finite if v.size]
    if n == 0 or not finite:
        return None
    y_max = max(float(v.max()) for v in finite)
    y_min = min(0.0, min(float(v.min()) for v in finite))
    ticks = _nice_ticks(y_min, y_max)
    y_top = ticks[-1]
    pw, ph = CHART_W - CHART_L - CHART_R, CHART_H - CHART_T - CHART_B

    def px(t: int) -> float:
        return round(CHART_L + (t / max(n - 1, 1)) * pw, 1)

    def py(v: float) -> float:
        return round(CHART_T + ph - (v - y_min) / max(y_top - y_min, 1e-9) * ph, 1)

    out_lines = []
    for k, line in enumerate(lines):
        y = np.asarray(line["y"], dtype=float)
        segs, cur = [], []
        for t, v in enumerate(y):
            if np.isfinite(v):
                cur.append(f"{px(t)},{py(v)}")
            elif cur:
                segs.append(" ".join(cur))
                cur = []
        if cur:
            segs.append(" ".join(cur))
        color, dash = line.get("color", PALETTE[k % len(PALETTE)]), line.get("dash", "")
        out_lines.append({"label": line["label"], "color": color, "dash": dash, "segments": segs,
                          "title": line.get("title", ""), "width": line.get("width"),
                          "on_top": bool(line.get("on_top")), "key_style": swatch_style(color, dash, line.get("width")),
                          "peak": _line_peak(y, dates)})
    out_bands = [{"label": b["label"], "color": b.get("color", PALETTE[0]), "opacity": b.get("opacity", 0.2),
                  "polygons": _band_polygons(b["low"], b["high"], px, py)} for b in bands or []]
    out_dots = []
    for d in dots or []:
        y = np.asarray(d["y"], dtype=float)
        out_dots.append({"label": d["label"], "color": d.get("color", "#000"),
                         "points": [(px(t), py(v), _fmt_num(v), dates[t] or t) for t, v in enumerate(y)
                                    if np.isfinite(v)]})
    marks = []
    for r in reported:
        x, kind = px(r["day"]), r["kind"]
        when = dates[r["day"]] or r["day"]
        if kind == "range" and r.get("low") is not None and r.get("high") is not None:
            text = f"{_fmt_num(r['low'])}–{_fmt_num(r['high'])}"
            marks.append({"shape": "range", "x": x, "y1": py(r["low"]), "y2": py(r["high"]), "color": r["color"],
                          "title": f"{when}: reported {text} ({r.get('note', '')})"})
        elif kind == "lower_bound" and r.get("low") is not None:
            yl = py(r["low"])
            marks.append({"shape": "tri", "points": f"{x},{yl - 5} {x - 4.5},{yl + 3} {x + 4.5},{yl + 3}",
                          "color": r["color"], "title": f"{when}: reported more than {_fmt_num(r['low'])} ({r.get('note', '')})"})
        elif kind == "peak" and r.get("value") is not None:
            # the most there on some day up to the report (analysis.peak), its own day unknown: one
            # diamond at the report's date, labelled "peak by then"; not a line from the first day,
            # which read as that many people there all along
            yp = py(r["value"])
            marks.append({"shape": "peak", "x": x, "y": yp, "color": r["color"],
                          "points": f"{x},{yp - 5.5:.1f} {x + 5.5:.1f},{yp} {x},{yp + 5.5:.1f} {x - 5.5:.1f},{yp}",
                          "label": f"peak ~{_fmt_num(r['value'])} by then", "label_x": x - 8 if x > CHART_W / 2 else x + 8,
                          "anchor": "end" if x > CHART_W / 2 else "start",
                          "title": f"{when}: reported a peak of ~{_fmt_num(r['value'])} on some day up to then, "
                                   f"its date unknown ({r.get('note', '')})"})
        elif r.get("value") is not None:
            marks.append({"shape": "dot", "x": x, "y": py(r["value"]), "color": r["color"],
                          "title": f"{when}: reported {_fmt_num(r['value'])} ({r.get('note', '')})"})
    x_ticks = [(px(t), label) for t, label in date_ticks(dates)]
    return {
        "title": title, "y_label": y_label, "w": CHART_W, "h": CHART_H, "left": CHART_L, "top": CHART_T,
        "right": CHART_W - CHART_R, "bottom": CHART_H - CHART_B, "n_days": n,
        "lines": out_lines, "drawn": sorted(out_lines, key=lambda line: line["on_top"]),
        "summary": chart_summary(out_lines), "dots": out_dots, "marks": marks, "x_ticks": x_ticks,
        "y_ticks": list(zip([py(v) for v in ticks], axis_labels(ticks), strict=True)), "bands": out_bands, "y_min": y_min, "y_max": y_top,
    }


#: A run longer than this many days has its time axis ticked on month starts (`date_ticks`).
MONTH_TICKS_AFTER = 62
#: The most ticks a time axis gets (its labels would touch on a phone beyond).
MAX_TICKS = 7


def date_ticks(dates: list[str | None]) -> list[tuple[int, str]]:
    """A time axis's ticks, (day index, label): on the first of each month ("Mar 2023"), every
    second, third, sixth or twelfth month where there are more than MAX_TICKS, when the run spans
    more than MONTH_TICKS_AFTER days and has dates; else about every sixth of the run, labelled
    with its date (or day number). Why: ticks every 24th day fell on 2023-02-25, 03-21, ….
    """
    n = len(dates)
    parsed: list[dt.date] = []
    try:
        parsed = [dt.date.fromisoformat(str(d)) for d in dates] if all(dates) else []
    except ValueError:
        parsed = []
    if parsed and n > MONTH_TICKS_AFTER:
        firsts = [t for t, d in enumerate(parsed) if d.day == 1]
        every = next((k for k in (1, 2, 3, 6, 12) if len(firsts) <= MAX_TICKS * k), 12)
        firsts = [t for t in firsts if (parsed[t].month - 1) % every == 0]
        if len(firsts) >= 2:
            return [(t, parsed[t].strftime("%b %Y")) for t in firsts]
    step = max(1, (n - 1) // 6)
    return [(t, dates[t] or str(t)) for t in range(0, n, step)]


def swatch_style(color: str, dash: str, width: float | None = None) -> str:
    """A legend swatch's inline style: a bar in the line's colour, broken as its stroke-dasharray
    breaks the line (a repeating gradient; px as the chart's user units at full size), so that the
    key shows the pattern a reader must match, not only the colour."""
    height = f"height: {max(3.0, float(width)):g}px; " if width else ""
    parts = [float(v) for v in dash.replace(",", " ").split()]
    if not parts:
        return f"{height}background: {color}"
    if len(parts) % 2:
        parts *= 2
    stops, at = [], 0.0
    for k, length in enumerate(parts):
        stops.append(f"{color if k % 2 == 0 else 'transparent'} {at:g}px {at + length:g}px")
        at += length
    return f"{height}background: repeating-linear-gradient(to right, {', '.join(stops)})"


def _line_peak(y: np.ndarray, dates: list[str | None]) -> tuple[str, str] | None:
    """A line's highest value and its (first) date, as text; None for a line with no value."""
    if not np.isfinite(y).any():
        return None
    t = int(np.nanargmax(y))
    return _fmt_num(float(y[t])), dates[t] or f"day {t}"


def chart_summary(lines: list[dict[str, Any]], most: int = 4) -> str:
    """What a chart shows, for its text alternative (aria-label): each line's highest value and
    its date, the first `most` lines, so a screen reader hears the message, not only the title."""
    said = [f"{line['label']}: highest {peak[0]} on {peak[1]}" for line in lines[:most] if (peak := line["peak"])]
    more = len(lines) - most
    return "; ".join(said) + (f"; and {more} more line{'s' if more > 1 else ''}" if more > 0 else "")


def _band_polygons(low: Any, high: Any, px: Callable[[int], float], py: Callable[[float], float]) -> list[str]:
    """SVG polygon points of the area between `low` and `high`: the upper edge left to right, then
    the lower edge back, one polygon per run of days where both are finite (a gap is not shaded)."""
    lo, hi = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    ok = np.isfinite(lo) & np.isfinite(hi)
    polygons, start = [], None
    for t in range(len(ok) + 1):
        if t < len(ok) and ok[t]:
            start = t if start is None else start
            continue
        if start is not None:
            days = range(start, t)
            top = [f"{px(d)},{py(hi[d])}" for d in days]
            bottom = [f"{px(d)},{py(lo[d])}" for d in reversed(days)]
            polygons.append(" ".join(top + bottom))
            start = None
    return polygons
