"""PNG figures of a run: camp populations against observations, stranded people, needs.

Figures are built with matplotlib's object API (`Figure` + Agg canvas), never pyplot, so no global
backend or figure state is touched and plots can be made from worker threads. Each `*_figure`
function returns a Figure (or None when the run has nothing to show) so tests can look inside;
`write_plots` saves them as PNGs into a run folder.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ..analysis.observations import DRAWN_KINDS
from .fonts import label_fonts, quiet_missing_glyphs
from .formatting import MINUS
from .tables import ResultsLike, collapse_extra_dims, location_table

CAMPS_PNG = "camps.png"
STRANDED_PNG = "stranded.png"
NEEDS_PNG = "needs.png"

_ENSEMBLE_DIMS = ("replica", "sample", "member", "seed")


def count_label(value: float, _pos: int | None = None) -> str:
    """A tick's number as a reader writes it: 1,000,000 and 2.5, never 1e6 or an offset; a
    negative one with the minus sign "−" (`formatting.MINUS`), as the pages write figures, never
    "-0"."""
    v = float(value)
    text = f"{v:,.0f}" if v.is_integer() else f"{v:,.2f}".rstrip("0").rstrip(".")
    if text.startswith("-"):
        text = text[1:]
        return text if text == "0" else MINUS + text
    return text


def plain_counts(ax: Any) -> None:
    """Y ticks in plain numbers with thousands separators (matplotlib's default draws a large
    axis as 0.2 … 1.0 with a "1e6" above it, easy to misread by a factor of a million)."""
    ax.yaxis.set_major_formatter(FuncFormatter(count_label))


def _x_axis(ds: xr.Dataset) -> np.ndarray:
    """Dates when the run has them (matplotlib draws datetime64 natively), else day numbers."""
    if "date" in ds.coords:
        return np.asarray(ds["date"].values).astype("datetime64[D]")
    return np.asarray(ds["day"].values if "day" in ds.coords else np.arange(ds.sizes["day"]))


def population_bands(
    dataset: xr.Dataset, bands: xr.DataArray | None = None, quantiles: tuple[float, float] = (0.05, 0.95)
) -> xr.DataArray | None:
    """Lower and upper population band (dims `quantile`, day, location), or None.

    `bands` may be given directly (a DataArray with a `quantile` dimension; its lowest and highest
    quantiles are used). Otherwise a `quantile` or ensemble (`replica`, ...) dimension of
    `dataset.population` is used.
    """
    if bands is not None:
        if "quantile" not in bands.dims:
            raise ValueError("bands needs a 'quantile' dimension")
        q = np.sort(np.asarray(bands["quantile"].values))
        return bands.sel(quantile=[q[0], q[-1]])
    pop = dataset.get("population")
    if pop is None:
        return None
    if "quantile" in pop.dims:
        q = np.sort(np.asarray(pop["quantile"].values))
        return pop.sel(quantile=[q[0], q[-1]])
    for dim in _ENSEMBLE_DIMS:
        if dim in pop.dims and pop.sizes[dim] > 1:
            return pop.quantile(list(quantiles), dim=dim)
    return None


def camp_like(ds: xr.Dataset, observations: list[dict[str, Any]] | None = None) -> list[str]:
    """Places worth a camp panel: camps, places with observations, places where people were stranded."""
    locs = location_table(ds)
    n = len(locs)
    has_obs = (
        np.isfinite(ds["observed"].transpose("day", "location").values).any(axis=0)
        if "observed" in ds
        else np.zeros(n, bool)
    )
    stranded = (
        np.nan_to_num(ds["stranded"].transpose("day", "location").values).max(axis=0) > 0
        if "stranded" in ds
        else np.zeros(n, bool)
    )
    observed_at = {o["location"] for o in observations or [] if o["kind"] in DRAWN_KINDS}
    ever = np.nan_to_num(ds["population"].transpose("day", "location").values).max(axis=0) > 0
    return [loc["name"] for j, loc in enumerate(locs)
            if (loc["is_camp"] and ever[j]) or has_obs[j] or stranded[j] or loc["name"] in observed_at]


def _camp_names(ds: xr.Dataset, limit: int, observations: list[dict[str, Any]] | None = None) -> list[str]:
    """Camp-like places (see `camp_like`), largest peak first, at most `limit`."""
    chosen = camp_like(ds, observations)
    peak = {n: float(ds["population"].sel(location=n).max()) for n in chosen}
    return sorted(chosen, key=lambda n: -peak[n])[:limit]


def camps_figure(
    dataset: xr.Dataset,
    bands: xr.DataArray | None = None,
    limit: int = 12,
    observations: list[dict[str, Any]] | None = None,
) -> Figure | None:
    """One panel per camp: simulated population (line), band (shaded), observed (dots).

    `observations` (crisis runs, see `tables.observations_for`) add dated points, ranges (bars),
    lower bounds (triangles) and reported peaks (hollow diamonds at their date) at their
    location (`draw_observations`).
    """
    band = population_bands(dataset, bands)
    ds = collapse_extra_dims(dataset)
    if "population" not in ds:
        return None
    names = _camp_names(ds, limit, observations)
    if not names:
        return None
    label = _labels(ds)
    family = list(label_fonts(label[n] for n in names).families)  # for place names in any script
    x = _x_axis(ds)
    cols = min(3, len(names))
    rows = int(np.ceil(len(names) / cols))
    # fixed margins: a constrained layout costs seconds on long runs with many panels; the legend
    # gets its own strip right of the panels (`legend_beside`)
    height, panels = 2.8 * rows, 4.2 * cols
    width = panels + LEGEND_STRIP_IN
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(left=(0.07 if cols > 1 else 0.16) * panels / width, right=(panels - 0.1) / width,
                        top=1 - 0.3 / height, bottom=0.75 / height, hspace=0.5, wspace=0.28)
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, name in enumerate(names):
        ax = axes[k // cols][k % cols]
        if band is not None:
            lo = band.sel(location=name).isel(quantile=0).values
            hi = band.sel(location=name).isel(quantile=-1).values
            ax.fill_between(x, lo, hi, color="tab:blue", alpha=0.25, linewidth=0, label="ensemble band")
        ax.plot(x, ds["population"].sel(location=name).values, color="tab:blue", label="simulated")
        if "observed" in ds and not observations:  # (a crisis run's reports are drawn below)
            obs = ds["observed"].sel(location=name).values
            ok = np.isfinite(obs)
            if ok.sum() > 40:  # a daily series (Flee's interpolated data): a line reads better
                ax.plot(x, obs, "--", color="black", lw=1.2, label="observed")
            elif ok.any():
                ax.plot(x[ok], obs[ok], "o", ms=3, color="black", label="observed")
        draw_observations(ax, x, [o for o in observations or [] if o["location"] == name])
        ax.set_title(label[name], fontsize=9, fontfamily=family)
        ax.tick_params(labelsize=7)
        ax.set_ylabel("people", fontsize=8)
        plain_counts(ax)
    for k in range(len(names), rows * cols):
        axes[k // cols][k % cols].set_visible(False)
    legend_beside(fig, [axes[k // cols][k % cols] for k in range(len(names))])
    for ax in fig.axes:  # every panel keeps its dates (panels of a last, partial row have no row below)
        for tick in ax.get_xticklabels():
            tick.set_rotation(30)
            tick.set_horizontalalignment("right")
    return fig


#: The width (inches) of the strip right of camps.png's panels that holds its legend.
LEGEND_STRIP_IN = 2.0


def legend_beside(fig: Figure, axes: list[Any], fontsize: float = 7) -> Any:
    """One legend for the figure, in the strip right of its panels (top-aligned with them), naming
    each mark of every panel once (the first panel's marks first). Why: drawn inside the first
    panel ("upper left") it sat over a reported peak's dashed line, which runs from the first day
    at the peak's height, and it left out a kind of mark that only another panel had. None when
    nothing is labelled."""
    marks: dict[str, Any] = {}
    for ax in axes:
        for handle, text in zip(*ax.get_legend_handles_labels(), strict=True):
            marks.setdefault(text, handle)
    if not marks:
        return None
    right = max(ax.get_position().x1 for ax in axes)
    top = max(ax.get_position().y1 for ax in axes)
    return fig.legend(list(marks.values()), list(marks), fontsize=fontsize, loc="upper left",
                      bbox_to_anchor=(right + 0.1 / fig.get_figwidth(), top), borderaxespad=0.0)


#: The legend's words for a reported peak's diamond: reached on some day by its date, which is unknown.
PEAK_LABEL = "reported peak by this date\n(its day unknown)"


def draw_observations(ax: Any, x: np.ndarray, rows: list[dict[str, Any]]) -> None:
    """Points as dots, ranges as vertical bars, lower bounds as upward triangles, and a reported
    peak (the most there on some day up to its date, its own day unknown, `analysis.peak`) as a
    hollow diamond at its value on that date (a dashed line from the first day read as that many
    there all along), in black, each kind labelled once ("reported", "reported range", "reported
    lower bound", PEAK_LABEL).
    Shared by camps.png and an ensemble's bands.png, so both mark a report the same way."""
    labelled: set[str] = set()

    def label(kind: str) -> str | None:
        if kind in labelled:
            return None
        labelled.add(kind)
        return {"point": "reported", "range": "reported range", "lower_bound": "reported lower bound",
                "peak": PEAK_LABEL}[kind]

    for o in rows:
        t = o["day"]
        if not 0 <= t < len(x):
            continue
        if o["kind"] == "range" and o["low"] is not None and o["high"] is not None:
            ax.vlines(x[t], o["low"], o["high"], color="black", lw=2, label=label("range"))
        elif o["kind"] == "lower_bound" and o["low"] is not None:
            ax.plot([x[t]], [o["low"]], "^", ms=5, color="black", label=label("lower_bound"))
        elif o["kind"] == "peak" and o["value"] is not None:
            ax.plot([x[t]], [o["value"]], "D", ms=6, mfc="white", mec="black", mew=1.3, label=label("peak"))
        elif o["kind"] == "point" and o["value"] is not None:
            ax.plot([x[t]], [o["value"]], "o", ms=4, color="black", label=label("point"))


def _labels(ds: xr.Dataset) -> dict[str, str]:
    """Place name → what a reader calls it (a `label` coord, e.g. the Chile–Peru scenario's)."""
    return {loc["name"]: loc["label"] for loc in location_table(ds)}


def stranded_figure(dataset: xr.Dataset) -> Figure | None:
    """Stranded people over time, per place that ever held anyone stranded, and their total (not
    drawn when one place held them all: it is that place's line)."""
    ds = collapse_extra_dims(dataset)
    if "stranded" not in ds:
        return None
    st = ds["stranded"].transpose("day", "location")
    ever = [str(n) for n, v in zip(st["location"].values, st.max("day").values, strict=True) if v > 0]
    x = _x_axis(ds)
    fig = Figure(figsize=(8, 3.6))
    fig.subplots_adjust(left=0.1, right=0.98, top=0.9, bottom=0.2)
    ax = fig.subplots()
    label = _labels(ds)
    for name in ever[:10]:  # (one place alone is the total: a black total drawn over it hid its line)
        ax.plot(x, st.sel(location=name).values, label=label[name] + (" (all stranded)" if len(ever) == 1 else ""))
    if len(ever) != 1:
        ax.plot(x, st.sum("location").values, color="black", lw=2, label="total")
    ax.set_ylabel("people stranded")
    plain_counts(ax)
    ax.set_title("Stranded at borders")
    ax.legend(prop={"size": 7, "family": list(label_fonts(label[n] for n in ever[:10]).families)}, ncol=2)
    fig.autofmt_xdate()
    return fig


def needs_figure(needs: xr.Dataset, top: int = 4) -> Figure | None:
    """Water, food, covered space, tents and toilets over time at the places with the largest needs.

    Five panels in a 3 × 2 grid, the sixth cell holding the one legend (so no legend covers a
    line). Tents get a panel of their own beside covered space, not a right-hand axis on it: a
    place's tents are ⌈the space of its people without shelter / one tent's floor⌉, so a scaled
    second axis would read them wrongly, and tents are what is bought. Tents and toilets are whole items and
    their axes tick in whole numbers. Where toilets were provided, the provided count is drawn
    dashed beside the need.
    """
    if "water_l" not in needs:
        return None
    water = needs["water_l"].transpose("day", "location")
    peak = water.max("day").values
    order = [int(i) for i in np.argsort(-peak) if peak[i] > 0][:top]
    if not order:
        return None
    x = _x_axis(needs)
    panels = [(var, label) for var, label in (
        ("water_l", "water (litres/day)"),
        ("food_rations", "food (rations/day)"),
        ("covered_space_m2", "covered space (m²)"),
        # (for the people without shelter only; a needs dataset made before tents were counted has none)
        ("tents", "tents (people without shelter)"),
        ("toilets", "toilets"),
    ) if var in needs]
    fig = Figure(figsize=(9, 7.6))
    fig.subplots_adjust(left=0.08, right=0.98, top=0.96, bottom=0.1, hspace=0.45, wspace=0.22)
    axes = fig.subplots(3, 2, squeeze=False).ravel()
    label_of = _labels(needs)
    names = [label_of[str(v)] for v in needs["location"].values]
    handles: dict[str, Any] = {}  # legend label → its line, once each (every panel draws the places)
    for ax, (var, label) in zip(axes, panels, strict=False):
        for j in order:
            line = ax.plot(x, needs[var].transpose("day", "location").values[:, j], label=names[j])[0]
            handles.setdefault(names[j], line)
            if var == "toilets" and "toilets_provided" in needs:
                prov = needs["toilets_provided"].transpose("day", "location").values[:, j]
                if np.isfinite(prov).any():
                    handles[f"{names[j]} (provided)"] = ax.plot(
                        x, prov, ls="--", color=line.get_color(), label=f"{names[j]} (provided)")[0]
        ax.set_title(label, fontsize=9)
        ax.tick_params(labelsize=7)
        plain_counts(ax)
        if var in ("tents", "toilets"):  # (whole items: the toilets axis read 12.5 and 17.5 between them)
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in axes[len(panels):]:
        ax.axis("off")
    prop = {"size": 8, "family": list(label_fonts(names[j] for j in order).families)}
    axes[-1].legend(list(handles.values()), list(handles), prop=prop, loc="center", frameon=False)
    for i, ax in enumerate(axes[:len(panels)]):
        # dates under a panel's column's lowest panel only (tents' are over the legend, not toilets:
        # fig.autofmt_xdate kept them for the last row alone, leaving the right column with none)
        for tick in ax.get_xticklabels():
            if i + 2 < len(panels):
                tick.set_visible(False)
            else:
                tick.set_ha("right")
                tick.set_rotation(30)
    return fig


def save_png(fig: Figure, path: Path | BinaryIO, dpi: int = 100) -> None:
    """Render a Figure to PNG with the Agg canvas, into a file or a binary stream."""
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=dpi, format="png")


def write_plots(
    results: ResultsLike,
    folder: Path,
    needs: xr.Dataset | None = None,
    bands: xr.DataArray | None = None,
    observations: list[dict[str, Any]] | None = None,
) -> list[Path]:
    """Save every figure the run has data for; returns the files written."""
    from ..results import in_people
    from .tables import needs_for, observations_for

    folder = Path(folder)
    dataset = in_people(results.dataset)  # (counts in people, as in the tables)
    needs = needs if needs is not None else needs_for(results)
    observations = observations if observations is not None else observations_for(results)
    out: list[Path] = []
    made: Mapping[str, Any] = {
        CAMPS_PNG: camps_figure(dataset, bands, observations=observations),
        STRANDED_PNG: stranded_figure(dataset),
        NEEDS_PNG: needs_figure(needs),
    }
    with quiet_missing_glyphs([fig for fig in made.values() if fig is not None], "plots"):
        for name, fig in made.items():
            if fig is not None:
                save_png(fig, folder / name)
                out.append(folder / name)
    return out


#: The comparison figure's panels: the metrics a planner reads first (analysis.compare keys).
COMPARISON_PANELS = ("peak_stranded", "stranded_person_days", "water_l", "give_ups")
COMPARISON_PNG = "comparison.png"
#: The most characters a line of a comparison panel's title holds (8 pt, a panel of four about 1.6 in wide).
PANEL_TITLE_CHARS = 28


def comparison_figure(summary: list[dict[str, Any]], names: list[str],
                      panels: tuple[str, ...] = COMPARISON_PANELS,
                      labels: Mapping[str, str] | None = None, baseline: str | None = None) -> Figure:
    """One panel per metric of a policy comparison: each scenario's median over the seeds (a dot)
    and its 5–95 % band (a bar), scenarios from top to bottom in `names`' order (the tables':
    `Comparison.shown_names`, a one-way sweep's by value), the `baseline` (default: the first)
    in black with a dashed line through its median, so a variant's effect reads as its
    distance from the line. `summary` is `Comparison.summary()` (rows with scenario, metric,
    label, unit, median, p05, p95). Each scenario by its readable name (`labels`,
    `Comparison.labels`), as the terminal and the page show it. The title says what the bands
    are at that many seeds: none with one seed, not meaningful below `compare.MIN_BAND_SEEDS`."""
    from ..analysis.compare import MIN_BAND_SEEDS, heading, name_lines

    rows = {(r["scenario"], r["metric"]): r for r in summary}
    n = len(names)
    base = baseline if baseline is not None else (names[0] if names else None)
    shown = [(labels or {}).get(name) or name for name in names]
    ticks = [name_lines(name) for name in shown]  # (a sweep point of several values: a line each)
    row_in = 0.3 + 0.13 * (max(label.count("\n") for label in ticks) if ticks else 0)
    fig = Figure(figsize=(10, min(1.6 + row_in * n, 30)))
    seeds = max((int(r.get("seeds", 0)) for r in summary), default=0)
    if seeds == 1:
        fig.suptitle("policy comparison: one run per scenario (1 seed, no range); "
                     "dashed: the baseline's figure", fontsize=9)
    else:
        fig.suptitle(f"policy comparison: median (dot) and 5–95 % band (bar) over {seeds} seeds; "
                     "dashed: the baseline's median"
                     + (f"\nwith {seeds} seeds the bands are not meaningful (fewer than {MIN_BAND_SEEDS})"
                        if seeds < MIN_BAND_SEEDS else ""), fontsize=9)
    axes = fig.subplots(1, len(panels), sharey=True)
    y = np.arange(n)[::-1]  # (the first scenario at the top)
    fonts = list(label_fonts(shown).families)
    for ax, key in zip(np.atleast_1d(axes), panels, strict=True):
        for k, name in enumerate(names):
            r = rows.get((name, key))
            if r is None or not np.isfinite(r["median"]):
                continue
            color = "black" if name == base else "tab:blue"
            ax.plot([r["p05"], r["p95"]], [y[k], y[k]], color=color, lw=2, alpha=0.5)
            ax.plot([r["median"]], [y[k]], "o", color=color, ms=4)
            if name == base:
                ax.axvline(r["median"], color="black", ls="--", lw=0.8)
        # (a long label folded at its spaces: "water needed at the crisis sites, whole
        # run" on one line ran into the next panel's title)
        ax.set_title("\n".join(textwrap.fill(line, PANEL_TITLE_CHARS) for line in heading(key, "\n").split("\n")),
                     fontsize=8)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.xaxis.set_major_formatter(FuncFormatter(count_label))
        ax.grid(axis="x", alpha=0.3)
    first = np.atleast_1d(axes)[0]
    first.set_yticks(y)
    first.set_yticklabels(ticks, fontsize=7 if n <= 60 else 4, family=fonts)
    first.set_ylim(-0.7, n - 0.3)
    _fit_labels(fig, first)
    return fig


def _fit_labels(fig: Figure, ax: Any, panels_in: float = 7.8, pad_in: float = 0.2) -> None:
    """Widen `fig` so that `ax`'s y tick labels fit left of the panels, which keep `panels_in`
    inches: a fixed 20 % margin cut a sweep point's name ("…block=2023-03-30,bribe_price_usd=0")."""
    FigureCanvasAgg(fig)
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    widest = max((t.get_window_extent(renderer).width for t in ax.get_yticklabels()), default=0.0)
    left_in = max(1.0, widest / fig.dpi + 0.15 + pad_in)
    width = left_in + panels_in + pad_in
    fig.set_figwidth(width)
    height = fig.get_figheight()
    fig.subplots_adjust(left=left_in / width, right=1 - pad_in / width, top=1 - 0.9 / height,
                        bottom=0.5 / height, wspace=0.3)


def comparison_png(summary: list[dict[str, Any]], names: list[str],
                   labels: Mapping[str, str] | None = None, baseline: str | None = None) -> bytes:
    """`comparison_figure` as PNG bytes (written with the comparison's CSV and JSON, together)."""
    import io

    fig = comparison_figure(summary, names, labels=labels, baseline=baseline)
    buf = io.BytesIO()
    with quiet_missing_glyphs([fig], "comparison.png"):
        save_png(fig, buf)
    return buf.getvalue()
