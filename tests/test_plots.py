"""Figures: right panels and lines for the run's data, bands only when asked, PNGs not blank."""

from __future__ import annotations

import re

import numpy as np
import xarray as xr
from matplotlib.collections import PolyCollection
from matplotlib.image import imread

from corredor.outputs import plots
from corredor.outputs.tables import needs_for
from synthetic_results import crisis_like, flee_like


def _visible_axes(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


def _legend_texts(fig) -> list[str]:
    """camps.png's one legend (`plots.legend_beside`: the figure's, right of the panels)."""
    (legend,) = fig.legends
    return [t.get_text() for t in legend.get_texts()]


def _bands(ax):
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


def test_camp_panels_show_simulation_and_observations():
    res = flee_like()
    fig = plots.camps_figure(res.dataset)
    axes = _visible_axes(fig)
    assert [ax.get_title() for ax in axes] == ["Camp Z"]  # the only camp / only observed place
    lines = axes[0].get_lines()
    sim = np.asarray(lines[0].get_ydata(), dtype=float)
    assert np.array_equal(sim, res.dataset.population.sel(location="Camp Z").values)
    obs = np.asarray(lines[1].get_ydata(), dtype=float)
    assert len(obs) == res.dataset.sizes["day"]  # every day of the observed series
    assert not _bands(axes[0])  # no ensemble, no band


def test_bands_from_given_quantiles_and_from_replicas():
    res = flee_like()
    pop = res.dataset.population
    q = xr.concat([pop * 0.8, pop * 1.2], dim="quantile").assign_coords(quantile=[0.05, 0.95])
    fig = plots.camps_figure(res.dataset, bands=q)
    assert len(_bands(_visible_axes(fig)[0])) == 1
    ens = xr.concat([res.dataset * k for k in (0.9, 1.0, 1.1)], dim="replica")
    band = plots.population_bands(ens)
    assert band is not None and band.sizes["quantile"] == 2
    assert float(band.isel(quantile=0).sum()) < float(band.isel(quantile=1).sum())
    assert len(_bands(_visible_axes(plots.camps_figure(ens))[0])) == 1


def test_stranded_only_for_crisis_runs():
    """One line per place that held anyone stranded, and the total: not when one place held
    them all (Chile–Peru's camp), whose line the black total was drawn over and hid."""
    assert plots.stranded_figure(flee_like().dataset) is None
    res = crisis_like()
    fig = plots.stranded_figure(res.dataset)
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["camp (all stranded)"]
    assert np.array_equal(np.asarray(lines[0].get_ydata(), dtype=float), res.dataset.stranded.sum("location").values)
    ds = res.dataset
    st = ds["stranded"].transpose("day", "location").values.copy()
    st[:, 1] = 5  # (a second place with people stranded: the total is drawn again)
    fig = plots.stranded_figure(ds.assign(stranded=(("day", "location"), st)))
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["arica", "camp", "total"]
    assert np.array_equal(np.asarray(lines[-1].get_ydata(), dtype=float), st.sum(axis=1))


def test_needs_figure_draws_provided_toilets():
    res = crisis_like()
    fig = plots.needs_figure(needs_for(res))
    toilets_ax = next(ax for ax in fig.axes if ax.get_title() == "toilets")
    labels = [line.get_label() for line in toilets_ax.get_lines()]
    assert "camp (provided)" in labels


def test_needs_figure_draws_tents_in_whole_numbers():
    """needs datasets carry whole tents per place; needs.png drew space and toilets but no tents."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    needs = needs_for(crisis_like())
    top = str(needs["water_l"].max("day").idxmax("location").values)
    tents = needs["tents"].sel(location=top).values
    assert tents.max() > 0
    fig = plots.needs_figure(needs)
    FigureCanvasAgg(fig).draw()
    drawn = [ax for ax in fig.axes for line in ax.get_lines()
             if np.array_equal(np.asarray(line.get_ydata(), dtype=float), tents)]
    assert [ax.get_title() for ax in drawn] == ["tents (people without shelter)"]
    lo, hi = drawn[0].get_ylim()
    ticks = [t for t in drawn[0].get_yticks() if lo <= t <= hi]
    assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks), ticks
    assert any(t.get_text() for t in drawn[0].get_xticklabels())  # its dates are shown (nothing below it)


def test_write_plots_makes_non_blank_pngs(tmp_path):
    paths = plots.write_plots(crisis_like(), tmp_path)
    assert sorted(p.name for p in paths) == ["camps.png", "needs.png", "stranded.png"]
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        img = imread(p)
        assert img.shape[0] > 100 and float(img[..., :3].std()) > 0.02
    (tmp_path / "flee").mkdir()
    flee_paths = plots.write_plots(flee_like(), tmp_path / "flee")
    assert sorted(p.name for p in flee_paths) == ["camps.png", "needs.png"]


def test_a_crisis_runs_reports_are_drawn_once():
    """Its gridded `observed` holds the same reports as the dated observations: drawn from both,
    the legend said "observed" beside "reported" for the same points."""
    res = crisis_like()
    assert "observed" in res.dataset and np.isfinite(res.dataset["observed"].values).any()
    reports = [{"location": "camp", "day": 5, "kind": "point", "value": 100.0, "low": None, "high": None},
               {"location": "camp", "day": 9, "kind": "range", "value": None, "low": 150.0, "high": 250.0}]
    fig = plots.camps_figure(res.dataset, observations=reports)
    labels = set(_legend_texts(fig))
    assert labels == {"simulated", "reported", "reported range"}
    # without dated reports (a Flee case's series) the gridded data is drawn as "observed"
    fig = plots.camps_figure(flee_like().dataset)
    assert "observed" in _legend_texts(fig)


def test_a_reported_peak_is_one_diamond_at_its_date_not_a_dot_nor_a_line():
    """Found by an acceptance pass: camps.png drew UNHCR's "peak of ~400 (its day not stated, before
    21 Apr)" as a dot at 400 on 21 Apr, like a count that day; then as a dashed line at 400 from
    the first day, which a review read as 400 people there for 2½ months. A reported peak is the
    most there on some day up to its date (`analysis.peak`): one hollow diamond at its value on
    that date, labelled as a peak by then whose day is unknown; no dot, no line."""
    from matplotlib.collections import LineCollection

    res = crisis_like()
    reports = [{"location": "camp", "day": 8, "kind": "peak", "value": 400.0, "low": None, "high": None},
               {"location": "camp", "day": 5, "kind": "point", "value": 100.0, "low": None, "high": None}]
    fig = plots.camps_figure(res.dataset, observations=reports)
    ax = _visible_axes(fig)[0]
    x = plots._x_axis(res.dataset)
    dots = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert [(list(d.get_xdata()), list(d.get_ydata())) for d in dots] == [([x[5]], [100.0])]  # the count only
    (diamond,) = [line for line in ax.get_lines() if line.get_marker() == "D"]
    assert (list(diamond.get_xdata()), list(diamond.get_ydata())) == ([x[8]], [400.0])
    assert diamond.get_markerfacecolor() in ("white", (1.0, 1.0, 1.0, 1.0))  # (hollow)
    assert not [c for c in ax.collections if isinstance(c, LineCollection)]  # (no segment)
    labels = _legend_texts(fig)
    assert plots.PEAK_LABEL == "reported peak by this date\n(its day unknown)"
    assert plots.PEAK_LABEL in labels and labels.count("reported") == 1


def test_the_camps_legend_covers_no_panel_nor_a_reported_peak():
    """Found by a presentation pass: camps.png's legend sat inside the first panel ("upper left"),
    over the Chile–Peru camp's dashed line of UNHCR's reported peak, which runs from the first day
    at the peak's height; and it named only the first panel's marks. The legend is now the
    figure's, in a strip right of the panels: it overlaps no panel (so no line in one), lies
    inside the figure, and names a mark that only a later panel has."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection
    from matplotlib.transforms import Bbox

    res = crisis_like()
    reports = [{"location": "camp", "day": 8, "kind": "peak", "value": 400.0, "low": None, "high": None}]
    for ds, obs in ((res.dataset, reports), (_five_camps(), [
            {"location": "Camp 3", "day": 10, "kind": "range", "value": None, "low": 100.0, "high": 300.0}])):
        fig = plots.camps_figure(ds, observations=obs)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        renderer = canvas.get_renderer()
        (legend,) = fig.legends
        box = legend.get_window_extent(renderer)
        assert fig.bbox.contains(box.x0, box.y0) and fig.bbox.contains(box.x1, box.y1)
        for ax in _visible_axes(fig):
            assert not box.overlaps(ax.get_window_extent(renderer)), ax.get_title()
            for c in ax.collections:  # (the peak's dashed segment, a range's bar), in pixels
                if isinstance(c, LineCollection):
                    for seg in c.get_segments():
                        (x0, y0), (x1, y1) = ax.transData.transform(np.asarray(seg))
                        assert not box.overlaps(Bbox.from_extents(x0, y0, x1 + 1, y1 + 1))
        assert {plots.PEAK_LABEL, "reported range"} & set(_legend_texts(fig))
    assert "reported range" in _legend_texts(fig)  # (only "Camp 3", not the first panel, has one)


def _five_camps() -> xr.Dataset:
    """flee_like's camp five times over, each camp a multiple of the first (panels in two rows)."""
    ds = flee_like(40).dataset.drop_dims("route").isel(location=[2] * 5)
    ds = ds.assign_coords(location=[f"Camp {i}" for i in range(5)])
    return ds.assign(population=ds["population"] * xr.DataArray(np.arange(1, 6.0), dims="location"))


def test_large_needs_are_labelled_in_plain_numbers():
    """Found by an output audit: mali2012's needs.png drew water (about a million l/day) as
    0.0 … 1.0 under a small "1e6", and the camp panels' axes as 70000 with no separator."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    needs = needs_for(crisis_like())
    needs = needs.assign(water_l=needs["water_l"] * 1e4)  # tens of millions of litres a day
    fig = plots.needs_figure(needs)
    FigureCanvasAgg(fig).draw()
    water = next(ax for ax in fig.axes if ax.get_title() == "water (litres/day)")
    assert water.yaxis.get_offset_text().get_text() == ""
    labels = [t.get_text() for t in water.get_yticklabels() if t.get_text()]
    assert any(re.fullmatch(r"\d{1,3}(,\d{3}){2,}", t) for t in labels), labels
    assert [plots.count_label(v) for v in (0, 2.5, 70000, 1e6, 0.25)] == ["0", "2.5", "70,000", "1,000,000", "0.25"]


def test_a_negative_tick_has_the_pages_minus_sign():
    """Found by a presentation pass: a negative tick read "-5" with the hyphen, where the pages
    and the CLI write "−5" (`formatting.MINUS`, U+2212); a tick at −0 is "0"."""
    from corredor.outputs.formatting import MINUS, fmt_exact

    assert [plots.count_label(v) for v in (-5, -2.5, -70000, -0.0, -0.25)] == [
        f"{MINUS}5", f"{MINUS}2.5", f"{MINUS}70,000", "0", f"{MINUS}0.25"]
    assert plots.count_label(-1234) == fmt_exact(-1234)  # (as a page writes the same figure)
    assert "-" not in "".join(plots.count_label(v) for v in np.linspace(-3, 3, 13))


def test_the_toilets_panel_counts_whole_toilets():
    """Found by a planner's audit of the Chile–Peru run: needs.png's toilets axis read 12.5 and
    17.5 between its whole counts (the shelters need 7 to 17 toilets)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    needs = needs_for(crisis_like())
    # (a count that matplotlib's default ticks split into halves: 0 … 17)
    needs = needs.assign(toilets=(needs["toilets"] > 0) * 17.0)
    fig = plots.needs_figure(needs)
    FigureCanvasAgg(fig).draw()
    toilets = next(ax for ax in fig.axes if ax.get_title() == "toilets")
    lo, hi = toilets.get_ylim()
    ticks = [t for t in toilets.get_yticks() if lo <= t <= hi]
    assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks), ticks
