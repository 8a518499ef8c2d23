"""Ensembles: seeds, reduction to quantile bands, metric summaries, overrides and output files.

Most tests use the toy stand-in model in tests/ensemble_toy.py so they test the machinery, not
the engine; one test at the end runs the real engine on mali2012 when it is available.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO
from corredor.analysis.ensemble import (
    QUANTILES,
    STATS,
    OverrideError,
    Variant,
    apply_overrides,
    build_variants,
    few_replicas_note,
    parse_assignment,
    parse_sweep,
    parse_value,
    read_bands,
    run_ensemble,
    summarize_metrics,
    value_text,
    write_ensemble,
)
from corredor.analysis.executors import SerialExecutor
from corredor.scenario import load_scenario
from ensemble_toy import N_DAYS, expected_population, identity, toy_scenario, toy_simulate

CHILE = REPO / "scenarios" / "chile-peru-2023"


def _run(replicas: int = 40, seed: int = 1, **kw):
    return run_ensemble(toy_scenario(), replicas, seed=seed, simulate_fn=toy_simulate,
                        compile_fn=identity, **kw)


def test_same_base_seed_gives_identical_bands_and_metrics() -> None:
    a, b = _run(seed=7), _run(seed=7)
    for name in ("population", "travellers", "total_people"):
        np.testing.assert_array_equal(a.bands[name].values, b.bands[name].values)
    assert a.metrics == b.metrics
    c = _run(seed=8)
    assert not np.array_equal(a.bands["population"].values, c.bands["population"].values)


def test_replica_seeds_come_from_seedsequence_spawn() -> None:
    ens = _run(replicas=5, seed=3)
    children = np.random.SeedSequence(3).spawn(5)
    expected = [int(c.generate_state(1, dtype=np.uint64)[0]) for c in children]
    assert ens.manifest["replica_seeds"] == expected
    assert [r["seed"] for r in ens.metrics] == expected


def test_bands_equal_numpy_quantiles_over_the_replicas() -> None:
    ens = _run(replicas=25, seed=2)
    stack = np.stack([toy_simulate(toy_scenario(), seed=s).dataset["population"].values
                      for s in ens.manifest["replica_seeds"]]).astype(np.float64)
    got = ens.bands["population"].sel(variant="baseline")
    np.testing.assert_allclose(got.sel(stat="mean").values, stack.mean(axis=0), rtol=1e-6)
    for name, q in zip(STATS[1:], QUANTILES, strict=True):
        np.testing.assert_allclose(got.sel(stat=name).values, np.quantile(stack, q, axis=0),
                                   rtol=1e-6)


def test_every_numeric_day_variable_gets_bands_and_observations_are_kept() -> None:
    ens = _run(replicas=4)
    bands = ens.bands
    assert set(n for n in bands.data_vars if "stat" in bands[n].dims) == {
        "population", "travellers", "total_people"}
    assert bands["travellers"].dims == ("variant", "stat", "day", "route")
    assert bands["total_people"].dims == ("variant", "stat", "day")
    assert "stat" not in bands["observed"].dims  # an input, stored once
    assert list(bands["stat"].values) == list(STATS)
    assert bands["population"].attrs["units"] == "people"
    # quantiles are ordered
    q = bands["population"].sel(stat=list(STATS[1:])).values
    assert np.all(np.diff(q, axis=1) >= 0)


@pytest.mark.slow
def test_band_coverage_statistics_many_seeds() -> None:
    """The 5–95 % band of 200 replicas covers a fresh replica's value ~90 % of the time.

    Tolerance: over 40 base seeds × 30 days × 5 places the coverage must lie in [0.86, 0.94]
    (binomial sd of a single cell ~ 0.02; cells are correlated across days so we allow ±0.04).
    """
    hits = total = 0
    for base in range(40):
        ens = _run(replicas=200, seed=1000 + base)
        band = ens.bands["population"].sel(variant="baseline")
        fresh = toy_simulate(toy_scenario(), seed=10_000 + base).dataset["population"].values
        inside = (fresh >= band.sel(stat="q05").values) & (fresh <= band.sel(stat="q95").values)
        hits += int(inside.sum())
        total += inside.size
    assert 0.86 <= hits / total <= 0.94


def test_median_tracks_the_expected_value() -> None:
    ens = _run(replicas=200, seed=5)
    med = ens.bands["population"].sel(variant="baseline", stat="q50").values
    exp = expected_population(N_DAYS, 1.0)
    # Poisson sums: sd = sqrt(mean); median within 3 sd/sqrt(n)*1.25 + 1 (integer rounding)
    tol = 3 * np.sqrt(exp) / np.sqrt(200) * 1.25 + 1.0
    assert np.all(np.abs(med - exp) <= tol)


def test_summarize_metrics() -> None:
    rows = [{"ard": float(x), "name": "skip", "flag": True} for x in range(1, 101)]
    s = summarize_metrics(rows)
    assert set(s) == {"ard"}
    assert s["ard"]["n"] == 100
    assert s["ard"]["q50"] == pytest.approx(50.5)
    assert s["ard"]["q05"] == pytest.approx(np.quantile(np.arange(1, 101), 0.05))
    assert s["ard"]["min"] == 1 and s["ard"]["max"] == 100
    assert s["ard"]["sd"] == pytest.approx(np.std(np.arange(1, 101), ddof=1))
    nan = summarize_metrics([{"x": float("nan")}, {"x": 2.0}])
    assert nan["x"]["n"] == 1 and nan["x"]["q50"] == 2.0


def test_the_sd_of_one_replica_is_undefined_and_written_as_null(tmp_path: Path) -> None:
    """One value has no spread: its sd was reported as 0.0. It is NaN, null in
    metrics_summary.json (JSON has no NaN), and the page shows no figure for it."""
    from corredor.outputs.report.ensemble import build_ensemble_report

    assert np.isnan(summarize_metrics([{"x": 2.0}])["x"]["sd"])
    assert summarize_metrics([{"x": 2.0}, {"x": 4.0}])["x"]["sd"] == pytest.approx(2 ** 0.5)
    out = write_ensemble(_run(replicas=1), tmp_path / "one", plot=False)
    text = (out / "metrics_summary.json").read_text(encoding="utf-8")
    assert "NaN" not in text
    assert json.loads(text)["baseline"]["ard_mean"]["sd"] is None
    page = build_ensemble_report(out).read_text(encoding="utf-8")
    assert "with 1 replica the &#39;5–95 %&#39; and &#39;25–75 %&#39; bands are its value alone" in page


def test_the_few_replicas_note_gives_the_bands_coverage_of_runs() -> None:
    """The note said "holds 1 of the 3" (the replicas inside their own band) while compare said a
    band of 3 seeds holds 45 % of runs: one rule now (`bands.band_coverage`), in both."""
    assert "holds on average 45 % of runs, not 90 %" in (few_replicas_note(3) or "")
    assert "'25–75 %' band 25 %, not 50 %" in (few_replicas_note(3) or "")
    assert "holds on average 81 % of runs" in (few_replicas_note(19) or "")
    assert few_replicas_note(20) is None and few_replicas_note(500) is None


def test_a_sweep_gives_each_variants_difference_from_the_first_seed_by_seed(tmp_path: Path) -> None:
    """Common seeds pair a Flee case's replicas hardly at all, so two variants' medians side by
    side do not say whether the settings made a difference: each variant after the first gets
    its value minus the first's on the same seed (median, 5–95 %, mean ± SE) and r."""
    variants = build_variants({}, [parse_sweep("move_rules.camp_weight=1,2.5")])
    ens = _run(replicas=6, seed=4, variants=variants)
    first, second = (v.label for v in variants)
    assert list(ens.differences) == [second]
    rows = {v: {r["replica"]: r for r in ens.metrics if r["variant"] == v} for v in (first, second)}
    for name in ("ard_mean", "people_final"):
        a = np.array([rows[second][k][name] for k in range(6)])
        b = np.array([rows[first][k][name] for k in range(6)])
        d = ens.differences[second][name]
        assert d["n"] == 6 and d["q50"] == pytest.approx(np.median(a - b))
        assert d["q05"] == pytest.approx(np.quantile(a - b, 0.05))
        assert d["se"] == pytest.approx(np.std(a - b, ddof=1) / 6 ** 0.5)
        assert d["r"] == pytest.approx(np.corrcoef(a, b)[0, 1])
    out = write_ensemble(ens, tmp_path / "sweep", plot=False)
    written = json.loads((out / "metrics_differences.json").read_text(encoding="utf-8"))
    assert written[second]["people_final"]["q50"] == ens.differences[second]["people_final"]["q50"]
    assert not _run(replicas=2).differences  # (no sweep, no file)
    assert not (write_ensemble(_run(replicas=2), tmp_path / "one", plot=False) / "metrics_differences.json").exists()


def test_metric_distribution_per_variant_and_sweep_uses_common_seeds() -> None:
    variants = build_variants({}, [parse_sweep("move_rules.camp_weight=1,2.5")])
    ens = _run(replicas=30, seed=4, variants=variants)
    assert list(ens.bands["variant"].values) == ["move_rules.camp_weight=1",
                                                 "move_rules.camp_weight=2.5"]
    seeds = {v: [r["seed"] for r in ens.metrics if r["variant"] == v] for v in ens.summary}
    a, b = seeds.values()
    assert a == b  # common random numbers across variants
    # toy observed data is generated with camp_weight 2.5: that variant fits better
    assert ens.summary["move_rules.camp_weight=2.5"]["ard_mean"]["q50"] < \
        ens.summary["move_rules.camp_weight=1"]["ard_mean"]["q50"]
    camp = ens.bands["population"].sel(location="camp1", stat="q50").isel(day=-1)
    assert float(camp.sel(variant="move_rules.camp_weight=2.5")) > \
        2 * float(camp.sel(variant="move_rules.camp_weight=1"))


def test_overrides_parse_apply_and_refuse() -> None:
    assert parse_assignment("move_rules.camp_weight=2") == ("move_rules.camp_weight", 2)
    assert parse_assignment("move_rules.start_on_foot=true")[1] is True
    assert parse_sweep("move_rules.awareness_level=1,2") == ("move_rules.awareness_level", [1, 2])
    deep = "[" * 3000 + "]" * 3000  # (raised RecursionError, a traceback from --set)
    assert parse_assignment(f"move_rules.camp_weight={deep}") == ("move_rules.camp_weight", deep)
    sc = apply_overrides(toy_scenario(), {"move_rules.camp_weight": 2, "optimisations.hasten": 5})
    assert sc.settings.move_rules.camp_weight == 2.0 and sc.hasten == 5
    with pytest.raises(OverrideError, match="did you mean 'camp_weight'"):
        apply_overrides(toy_scenario(), {"move_rules.camp_wieght": 2})
    with pytest.raises(OverrideError, match="unknown setting"):
        apply_overrides(toy_scenario(), {"nosection.x": 1})
    with pytest.raises(OverrideError, match="hasten"):
        apply_overrides(toy_scenario(), {"optimisations.hasten": 0})
    with pytest.raises(OverrideError, match="no border-crisis"):
        apply_overrides(toy_scenario(), {"crisis.give_up": 0.1})


def test_a_number_with_an_exponent_is_a_number() -> None:
    """Found by review: `--set crisis.exodus_factor=1e6` was refused ("expected a number, found
    '1e6'"): YAML 1.1 reads a number with an exponent but no dot as text."""
    assert parse_assignment("crisis.x=1e6") == ("crisis.x", 1e6)
    assert parse_sweep("move_rules.camp_weight=1e-3,2E+1,1.5e2") == (
        "move_rules.camp_weight", [0.001, 20.0, 150.0])
    assert parse_assignment("crisis.x=1e")[1] == "1e" and parse_assignment("crisis.x=e5")[1] == "e5"
    sc = apply_overrides(toy_scenario(), {"move_rules.camp_weight": parse_assignment("k=2e1")[1]})
    assert sc.settings.move_rules.camp_weight == 20.0

def test_a_date_no_calendar_has_is_an_override_error_not_a_traceback() -> None:
    """Found by a first-time user: `--sweep crisis.peru_block=2023-04-31` (or `--set ...=2023-13-01`)
    ended in a ValueError traceback from YAML's date constructor, exit status 1."""
    for parse, text, said in [
            (parse_sweep, "crisis.peru_block=2023-04-31", "--sweep crisis.peru_block: '2023-04-31' is not a date"),
            (parse_sweep, "crisis.peru_block=2023-03-30..2023-04-31/7", "'2023-04-31' is not a date"),
            (parse_sweep, "crisis.peru_block=2023-03-30,2023-02-29", "'2023-02-29' is not a date"),
            (parse_assignment, "crisis.peru_block=2023-13-01", "--set crisis.peru_block: '2023-13-01' is not a date")]:
        with pytest.raises(OverrideError, match=re.escape(said)):
            parse(text)
    assert parse_sweep("k=2024-02-29")[1] == [dt.date(2024, 2, 29)]  # (a leap day is one)


def test_a_sweep_item_may_be_a_range_of_numbers_or_dates() -> None:
    """`a..b/step` (both ends included; step 1, or a day, by default) so that "every week from 30
    March to 27 April" or "0 to 100 USD by 25" need not be typed out value by value."""
    assert parse_sweep("crisis.bribe_price_usd=0..100/25")[1] == [0, 25, 50, 75, 100]
    assert parse_sweep("k=1,5..7,10")[1] == [1, 5, 6, 7, 10]
    assert parse_sweep("k=0..1/0.1")[1] == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    assert parse_sweep("k=0.5..0.9/0.25")[1] == [0.5, 0.75]  # (the end need not be reached)
    weeks = parse_sweep("crisis.peru_block=2023-03-30..2023-04-27/7")[1]
    assert weeks == [dt.date(2023, 3, 30) + dt.timedelta(days=7 * k) for k in range(5)]
    assert parse_sweep("k=2023-01-30..2023-02-02")[1][-1] == dt.date(2023, 2, 2)
    assert parse_sweep("k=../data,a..b")[1] == ["../data", "a..b"]  # (not numbers or dates: values)
    for text, said in [("k=5..1", "the range 5..1 is empty"),
                       ("k=0..1/0", "step: expected a number above 0, found '0'"),
                       ("k=0..10/", "step: expected a number above 0, found ''"),
                       ("k=2023-01-01..2023-02-01/1.5", "expected a whole number of days above 0"),
                       ("k=0..1e9/0.001", "makes 1,000,000,000,001 values, more than 1,000,000"),
                       # (width / step overflowed to infinity: an OverflowError traceback)
                       ("k=-1.7e308..1.7e308", "makes too many values, more than 1,000,000"),
                       ("k=0..1e308/1e-308", "makes too many values, more than 1,000,000"),
                       ("k=1,1..3", "k: 1 is given twice")]:
        with pytest.raises(OverrideError, match=re.escape(said)):
            parse_sweep(text)
    assert len(parse_sweep("k=0..999999")[1]) == 1_000_000  # (the most a range may make)


def test_a_sweep_points_name_writes_its_numbers_as_typed_without_a_spurious_point_0() -> None:
    """Found by review: a float sweep (`0..100/50.0`, `1e2`, `55.0`) was named
    "bribe_price_usd=100.0", beside the baseline's own "bribe_price_usd=100" (the model keeps
    its parameters as floats). `value_text` writes both; what it writes reads back as the value.
    A crisis parameter is named without its `crisis.`, as compare names its sweep points (an
    ensemble named them "crisis.bribe_price_usd=0", compare "bribe_price_usd=0"); a setting keeps
    its section."""
    def labels(*texts: str) -> list[str]:
        return [v.label for v in build_variants({}, [parse_sweep(text) for text in texts])]

    assert labels("crisis.bribe_price_usd=0..100/50.0") == labels("crisis.bribe_price_usd=0,50,100") == [
        "bribe_price_usd=0", "bribe_price_usd=50", "bribe_price_usd=100"]
    assert labels("k=1e2,55.0,0.25,1e-5") == ["k=100", "k=55", "k=0.25", "k=1e-05"]
    assert labels("crisis.peru_block=2023-03-30..2023-04-06/7") == ["peru_block=2023-03-30", "peru_block=2023-04-06"]
    assert labels("move_rules.camp_weight=2", "crisis.give_up_base=0.02") == [
        "move_rules.camp_weight=2,give_up_base=0.02"]
    assert labels("k=true,x") == ["k=true", "k=x"]
    for value in (100.0, -3.0, 0.25, 0.1 + 0.2, 1e-5, 1e20, 7, dt.date(2023, 4, 13), True, False):
        assert parse_value(value_text(value)) == value and not value_text(value).endswith(".0"), value


def test_a_sweep_value_twice_or_a_key_set_and_swept_is_refused() -> None:
    """Found by an error audit: `--sweep k=1,1` made two variants of one label (the same runs
    twice), and `--set k=7 --sweep k=3,4` dropped the --set silently."""
    with pytest.raises(OverrideError, match=r"camp_weight: 1 is given twice"):
        parse_sweep("move_rules.camp_weight=1,2,1.0")
    assert parse_sweep("move_rules.start_on_foot=1,true")[1] == [1, True]  # (not a repeat)
    with pytest.raises(OverrideError, match="both --set and --sweep"):
        build_variants({"move_rules.camp_weight": 7}, [parse_sweep("move_rules.camp_weight=3,4")])
    assert len(build_variants({"move_rules.camp_weight": 7},
                              [parse_sweep("move_rules.awareness_level=1,2")])) == 2


def test_crisis_overrides_keep_the_readers_bounds() -> None:
    """--set/--sweep crisis.* refuses what the scenario reader refuses: a speed of 0, a
    probability outside [0, 1], and a parameter above 1 that a policy uses as militarisation."""
    sc = load_scenario(CHILE)
    assert apply_overrides(sc, {"crisis.mil_troops": 0.9}).crisis.parameters["mil_troops"] == 0.9
    for key, value, expected in (("speed_km_per_day", 0, "> 0"), ("irregular_try", -3, "between 0 and 1"),
                                 ("give_up_base", -0.1, "≥ 0"), ("mil_troops", 3.0, "as a probability"),
                                 ("surge_factor", float("nan"), "expected a number")):
        with pytest.raises(OverrideError, match=expected):
            apply_overrides(sc, {f"crisis.{key}": value})
    # a crisis parameter without its `crisis.` prefix is pointed to it (was "unknown setting")
    with pytest.raises(OverrideError, match=r"did you mean 'crisis\.give_up_base'"):
        apply_overrides(sc, {"give_up_base": 0.1})
    for bad in ("camp_weight", "=2", "x="):
        with pytest.raises(OverrideError):
            parse_assignment(bad)
    with pytest.raises(OverrideError):
        parse_sweep("move_rules.camp_weight=1,,2")
    variants = build_variants({"move_rules.camp_weight": 3},
                              [("move_rules.awareness_level", [1, 2]), ("move_rules.softening", [0, 10])])
    assert len(variants) == 4
    assert all(v.overrides["move_rules.camp_weight"] == 3 for v in variants)


def test_every_band_table_embeds_the_ensemble_manifest(tmp_path: Path) -> None:
    """A band file copied out of its folder said nothing of the scenario, version or seeds that
    made it (its schema metadata was pandas' alone); results.parquet embeds its run's manifest."""
    import pyarrow.parquet as pq

    out = write_ensemble(_run(replicas=3, seed=4), tmp_path / "ens", plot=False)
    manifest = json.loads((out / "manifest.json").read_text())
    tables = sorted((out / "bands").glob("*.parquet")) + [out / "observed.parquet"]
    assert len(tables) > 2
    for path in tables:
        meta = pq.read_schema(path).metadata or {}
        assert b"pandas" in meta, path  # (read back as before)
        embedded = json.loads(meta[b"corredor.manifest"])
        for key in ("kind", "version", "base_seed", "replicas", "replica_seeds", "variants"):
            assert embedded[key] == manifest[key], (path.name, key)
        # (the scenario less where it was read from: the same tables from any folder or path)
        assert embedded["scenario"] == {k: v for k, v in manifest["scenario"].items() if k != "source"}
        assert not {"created", "wall_s", "executor", "workers"} & set(embedded)  # (how it ran, not what)
    # the same seeds give the same bytes, whenever and however they ran
    again = write_ensemble(_run(replicas=3, seed=4), tmp_path / "again", plot=False)
    assert all((again / "bands" / p.name).read_bytes() == p.read_bytes() for p in (out / "bands").glob("*.parquet"))


def test_write_and_read_back(tmp_path: Path) -> None:
    ens = _run(replicas=6, seed=9)
    out = write_ensemble(ens, tmp_path / "ens")
    names = {p.name for p in out.iterdir()}
    assert {"bands", "metrics.csv", "metrics_summary.json", "manifest.json", "bands.png"} <= names
    back = read_bands(out)
    np.testing.assert_allclose(back["population"].sel(variant="baseline").transpose("stat", "day", "location").values,
                               ens.bands["population"].sel(variant="baseline").values)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["replicas"] == 6 and manifest["base_seed"] == 9
    assert "bands/population.parquet" in manifest["files"]
    raw = (out / "metrics.csv").read_bytes()
    lines = raw.decode("utf-8").splitlines()
    assert lines[0].startswith("variant,replica,seed,") and len(lines) == 8
    # like the run folder's CSVs: an HXL row (one tag a column), CRLF line ends, every digit
    tags = lines[1].split(",")
    assert tags[:3] == ["#meta+variant", "#meta+replica", "#meta+seed"]
    assert len(tags) == len(lines[0].split(",")) and all(t.startswith("#indicator+") for t in tags[3:])
    assert raw.count(b"\r\n") == raw.count(b"\n") == 8
    import pandas as pd

    back = pd.read_csv(out / "metrics.csv", skiprows=[1])
    assert back["seed"].tolist() == [r["seed"] for r in ens.metrics]
    for name in back.columns[3:]:
        want = np.array([r[name] for r in ens.metrics], dtype=float)
        np.testing.assert_array_equal(back[name].to_numpy(dtype=float), want)  # exactly
    with pytest.raises(FileExistsError):
        write_ensemble(ens, out)
    ens2 = _run(replicas=3, seed=9)
    write_ensemble(ens2, out, force=True)
    assert json.loads((out / "manifest.json").read_text())["replicas"] == 3
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left


def test_each_replica_keeps_the_day_of_its_stranded_peak() -> None:
    """The ensemble kept each replica's highest stranded count but not its day, so the only
    "busiest day" was the median line's. `stranded_peak_day`: the day (0 = the start date) the
    most people were stranded, all places together; the first on a tie; NaN where nobody was."""
    import math
    from types import SimpleNamespace

    import xarray as xr

    from corredor.analysis.ensemble import default_metrics

    def results(daily_at_two_places: list[list[float]]) -> SimpleNamespace:
        stranded = xr.DataArray(np.array(daily_at_two_places), dims=("day", "location"),
                                coords={"day": np.arange(len(daily_at_two_places)), "location": ["a", "b"]})
        return SimpleNamespace(dataset=xr.Dataset({"stranded": stranded}), manifest={})

    # day 2 holds 7 at "a" alone, but day 3 holds 8 at both together (and day 5 ties it: later)
    got = default_metrics(results([[0, 0], [1, 0], [7, 0], [4, 4], [0, 1], [8, 0]]))
    assert got["peak_stranded"] == 8 and got["stranded_peak_day"] == 3.0
    assert "stranded_peak" not in got  # (compare's key, not the `stranded_peak` of earlier versions)
    assert math.isnan(default_metrics(results([[0, 0], [0, 0]]))["stranded_peak_day"])


def test_metrics_csv_writes_a_date_beside_a_day_metric() -> None:
    """A per-replica day is written as the bands write a day: the number, and its date beside it
    with an HXL #date tag; empty where a replica has none (nobody stranded)."""
    import io

    import pandas as pd

    from corredor.analysis.ensemble import metrics_csv

    rows = [{"variant": "baseline", "replica": 0, "seed": 11, "peak_stranded": 8.0, "stranded_peak_day": 71.0},
            {"variant": "baseline", "replica": 1, "seed": 12, "peak_stranded": 0.0, "stranded_peak_day": float("nan")}]
    text = metrics_csv(rows, dt.date(2023, 2, 1))
    head, tags, *_ = text.split("\r\n")
    assert head == "variant,replica,seed,peak_stranded,stranded_peak_day,stranded_peak_date"
    assert tags.split(",")[3:] == ["#indicator+peak_stranded", "#indicator+stranded_peak_day", "#date+stranded_peak"]
    back = pd.read_csv(io.StringIO(text), skiprows=[1], keep_default_na=False)
    assert back["stranded_peak_date"].tolist() == ["2023-04-13", ""]
    assert back["stranded_peak_day"].tolist() == ["71", ""]
    assert "stranded_peak_date" not in metrics_csv(rows)  # (no start date: no date to give)


def test_failed_write_leaves_old_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ens = _run(replicas=3)
    out = write_ensemble(ens, tmp_path / "ens")
    before = (out / "manifest.json").read_text()

    def boom(*a, **k):
        raise OSError("disk full")

    import corredor.analysis.ensemble as ensemble_module

    monkeypatch.setattr(ensemble_module, "metrics_csv", boom)  # fails half-way through the write
    with pytest.raises(OSError):
        write_ensemble(ens, out, force=True)
    assert (out / "manifest.json").read_text() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_failure_making_the_memory_maps_leaves_no_temporary_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by review: a full disk while the bands' memory maps were made left their folder
    (hundreds of MB) in the temp dir: the store was not made, so nothing closed it."""
    import errno
    import tempfile

    import corredor.analysis.ensemble as ensemble

    real = np.lib.format.open_memmap
    made: list[str] = []

    def fail_on_the_second(path, *args, **kwargs):
        if made:
            raise OSError(errno.ENOSPC, "No space left on device", path)
        made.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(ensemble, "_MEMMAP_BYTES", 0)  # (memory-mapped whatever the size)
    monkeypatch.setattr(np.lib.format, "open_memmap", fail_on_the_second)
    with pytest.raises(OSError, match="No space left"):
        _run(replicas=3)
    assert made and made[0].startswith(str(tmp_path / ".corredor-ens."))
    assert list(tmp_path.iterdir()) == []


def test_a_hard_killed_ensembles_memory_maps_are_removed_by_the_next_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by review: the memory maps' folder (GBs for thousands of replicas) of an ensemble
    killed hard (SIGKILL, the OOM killer) stayed in the temp dir for good: its name carried no
    process or machine. Named as the writers' temporaries are, the next ensemble removes a dead
    process's, and keeps a live one's and another machine's."""
    import os
    import socket
    import subprocess
    import sys
    import tempfile

    import corredor.analysis.ensemble as ensemble

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    dead = proc.pid
    host = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname().split(".")[0])[:40]
    stale = f".corredor-ens.{dead}-{host}.k1ll3d00.tmp"
    kept = [f".corredor-ens.{os.getpid()}-{host}.l1ve0000.tmp", f".corredor-ens.{dead}-{host}x.0ther000.tmp"]
    for name in [stale, *kept]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "0-0.f32").write_bytes(b"x" * 64)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(ensemble, "_MEMMAP_BYTES", 0)
    with pytest.warns(UserWarning, match=rf"removed .*{re.escape(stale)}: left by corredor process {dead}"):
        _run(replicas=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept)  # (and its own maps gone)


def test_progress_callback_counts_every_task() -> None:
    seen = []
    _run(replicas=5, progress=lambda d, n: seen.append((d, n)),
         variants=build_variants({}, [("move_rules.camp_weight", [1, 2])]), executor=SerialExecutor())
    assert seen[-1] == (10, 10) and len(seen) == 10


def _files(folder: Path) -> dict[str, bytes]:
    """Every file of an ensemble folder; manifest.json without the keys that say when and how
    long (`created`, `wall_s`), which differ between any two runs, and how it was invoked
    (`invocation`: a resumed ensemble's command line has --resume, another --out)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            data = p.read_bytes()
            if p.name == "manifest.json":
                m = json.loads(data)
                data = json.dumps({k: v for k, v in m.items() if k not in ("created", "wall_s", "invocation")}).encode()
            out[p.relative_to(folder).as_posix()] = data
    return out


def test_a_stopped_ensemble_resumes_from_its_kept_replicas_to_the_same_result(tmp_path: Path) -> None:
    """Finding (scale review): a stop or a lost worker threw away every finished replica. Each
    is now kept in the partial folder as it finishes; given the folder again, only the missing
    replicas run (and the first, for the layout), and the result is the same, file for file."""
    from corredor.analysis.ensemble import kept_replicas

    variants = build_variants({}, [("move_rules.camp_weight", [1, 2])])
    whole = _run(replicas=6, seed=4, variants=variants)
    partial = tmp_path / "ens.partial"
    seen: list[int] = []

    def stop_after_5(done: int, n: int) -> None:
        seen.append(done)
        if done == 5:
            raise KeyboardInterrupt  # (what SIGINT and SIGTERM raise in the command)

    with pytest.raises(KeyboardInterrupt):
        _run(replicas=6, seed=4, variants=variants, partial=partial, progress=stop_after_5)
    assert len(kept_replicas(partial)) == 5 and (partial / "ensemble.json").is_file()
    ran: list[tuple[int, int]] = []
    resumed = _run(replicas=6, seed=4, variants=variants, partial=partial,
                   progress=lambda done, n: ran.append((done, n)))
    assert ran[-1] == (8, 8)  # 12 − 5 kept + the first again (its layout is not kept)
    assert resumed.metrics == whole.metrics
    write_ensemble(whole, tmp_path / "whole")
    write_ensemble(resumed, tmp_path / "resumed")
    assert _files(tmp_path / "resumed") == _files(tmp_path / "whole")


def test_a_partial_folder_of_another_ensemble_is_refused_before_any_run(tmp_path: Path) -> None:
    from corredor.analysis.ensemble import PartialMismatch, kept_replicas

    partial = tmp_path / "ens.partial"
    _run(replicas=2, seed=4, partial=partial)
    before = {p.name: p.read_bytes() for p in partial.iterdir()}
    calls: list[int] = []
    for kw, said in (({"seed": 5}, "seed (--seed)"), ({"replicas": 3}, "replicas (-n)"),
                     ({"variants": [Variant("baseline", {"move_rules.camp_weight": 3})]}, "variants")):
        args = {"replicas": 2, "seed": 4, **kw}
        with pytest.raises(PartialMismatch, match=re.escape(said)):
            _run(partial=partial, progress=lambda d, n: calls.append(d), **args)
    assert calls == [] and {p.name: p.read_bytes() for p in partial.iterdir()} == before
    assert len(kept_replicas(partial)) == 2
    stranger = tmp_path / "other"
    stranger.mkdir()
    with pytest.raises(PartialMismatch, match="holds no record of an ensemble"):
        _run(replicas=2, partial=stranger)


# ---- command line ----------------------------------------------------------------------------


@pytest.fixture
def toy_cli(monkeypatch: pytest.MonkeyPatch):
    """The CLI's ensemble with the toy model in place of the engine (tests the wiring only)."""
    import functools

    from typer.testing import CliRunner

    import corredor.analysis.ensemble as ensemble_mod
    from corredor.cli import app

    real = ensemble_mod.run_ensemble
    monkeypatch.setattr(ensemble_mod, "run_ensemble",
                        functools.partial(real, simulate_fn=toy_simulate, compile_fn=identity))
    runner = CliRunner()
    return lambda *args: runner.invoke(app, [str(a) for a in args])


def test_cli_ensemble_writes_bands_and_refuses_existing(toy_cli, flee_cases: Path, tmp_path: Path) -> None:
    out = tmp_path / "ens"
    args = ["ensemble", flee_cases / "mali2012", "--replicas", 4, "--seed", 3, "--out", out,
            "--executor", "serial", "--sweep", "move_rules.camp_weight=1,2", "--days", 30]
    res = toy_cli(*args)
    assert res.exit_code == 0, res.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["replicas"] == 4 and len(manifest["variants"]) == 2
    assert manifest["scenario"]["name"] == "mali2012" and manifest["version"]
    # below 20 replicas, a warning says what the "5–95 %" band holds; a sweep prints its differences
    assert "warning: mali2012: with 4 replicas the '5–95 %' band holds on average 54 % of runs" in res.stderr
    assert "difference from move_rules.camp_weight=1, seed by seed (4 pairs)" in res.stdout
    again = toy_cli(*args)
    assert again.exit_code == 2 and "exists; use --force" in again.output
    assert toy_cli(*args, "--force", "--quiet").exit_code == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--set", "move_rules.camp_wieght=2"], "did you mean 'camp_weight'"),
        (["--set", "camp_weight"], "expected key=value"),
        (["--sweep", "move_rules.camp_weight="], "expected key=v1,v2"),
        (["--executor", "threads"], "unknown executor"),
        (["--address", "tcp://127.0.0.1:9"], "--address needs --executor dask"),
        (["--hasten", "0"], "--hasten must be from 1 to 1,000,000,000, found 0"),
        (["--engine", "warp"], "unknown engine 'warp'"),
    ],
)
def test_cli_ensemble_bad_input_is_one_line_exit_2(toy_cli, flee_cases: Path, tmp_path: Path,
                                                   extra: list[str], message: str) -> None:
    res = toy_cli("ensemble", flee_cases / "mali2012", "--replicas", 2, "--out", tmp_path / "x",
                  "--executor", "serial", *extra)
    assert res.exit_code == 2
    assert message in res.output and "Traceback" not in res.output
    assert not (tmp_path / "x").exists()


def test_cli_ensemble_bad_scenario_lists_problems(toy_cli, tmp_path: Path) -> None:
    res = toy_cli("ensemble", tmp_path / "nowhere", "--replicas", 2)
    assert res.exit_code == 2 and "nowhere: no such file or folder" in res.output


def test_cli_ensemble_keeps_a_partial_folder_only_until_its_output_is_written(
        toy_cli, flee_cases: Path, tmp_path: Path) -> None:
    """A complete ensemble leaves no OUT.partial; one left by a stopped ensemble is not silently
    reused or overwritten: --resume goes on from it, --force starts again, else exit 2; one made
    by another ensemble is refused on --resume (exit 2, what differs)."""
    from corredor.analysis.ensemble import kept_replicas

    out = tmp_path / "ens"
    partial = tmp_path / "ens.partial"
    args = ["ensemble", flee_cases / "mali2012", "-n", 3, "--seed", 3, "--out", out,
            "--executor", "serial", "--days", 30, "-q"]
    assert toy_cli(*args).exit_code == 0
    assert out.is_dir() and not partial.exists()
    whole = _files(out)
    shutil.rmtree(out)
    # a stopped ensemble's folder: two of its three replicas
    import corredor.analysis.ensemble as ensemble_mod

    def stop_after_2(done: int, n: int) -> None:
        if done == 2:
            raise KeyboardInterrupt

    real = ensemble_mod.run_ensemble  # (the fixture's partial, with the toy model)
    with pytest.raises(KeyboardInterrupt):
        real(load_scenario(flee_cases / "mali2012").with_days(30), 3, seed=3, partial=partial,
             progress=stop_after_2)
    assert len(kept_replicas(partial)) == 2
    res = toy_cli(*args)
    assert res.exit_code == 2 and f"{partial} keeps 2 finished replicas" in res.output
    assert "add --resume" in res.output and not out.exists()
    res = toy_cli(*args[:-1], "--seed", 4, "--resume")
    assert res.exit_code == 2 and "seed (--seed)" in res.output and "Traceback" not in res.output
    res = toy_cli(*args[:-1], "--resume")
    assert res.exit_code == 0, res.output
    assert f"resuming: 2 of 3 replicas are kept in {partial}; running the other 2" in res.stderr
    assert _files(out) == whole and not partial.exists()
    (tmp_path / "stray.partial").write_text("not ours")
    res = toy_cli(*args[:4], "--out", tmp_path / "stray", "--executor", "serial", "--force")
    assert res.exit_code == 2 and "is no folder of an interrupted ensemble" in res.output
    assert (tmp_path / "stray.partial").read_text() == "not ours"


#: `corredor ensemble` that sends itself SIGTERM once it has kept {k} replicas
STOP_AFTER_KEPT = """
import os, signal, sys
import corredor.analysis.ensemble as ens
real = ens.keep_replica
kept = []
def keep_then_stop(folder, out):
    real(folder, out)
    kept.append(out)
    if len(kept) == {k}:
        os.kill(os.getpid(), signal.SIGTERM)
ens.keep_replica = keep_then_stop
from corredor.cli import main
sys.argv[0] = "corredor"
main()
"""


def test_cli_ensemble_stopped_by_sigterm_says_how_to_resume_and_resumes_to_the_same_folder(
        tmp_path: Path) -> None:
    """The scale review's case: SIGTERM (a wall-time limit) discarded every finished replica, and
    the line said nothing more. Now the line says what is kept and how to go on, and --resume
    writes the folder an uninterrupted ensemble writes (the real engine, in a process of its own)."""
    import signal
    import subprocess
    import sys

    from scenario_cases import write_mini_flee

    case = write_mini_flee(tmp_path / "case")
    common = [str(case), "-n", "4", "--seed", "9", "--executor", "serial", "--engine", "cohorts",
              "--no-plot", "-q"]
    partial = tmp_path / "ens.partial"
    stopped = subprocess.run([sys.executable, "-c", STOP_AFTER_KEPT.format(k=3), "ensemble", *common,
                              "--out", str(tmp_path / "ens")], capture_output=True, text=True, timeout=600)
    assert stopped.returncode == 128 + signal.SIGTERM, stopped.stderr
    assert stopped.stderr.splitlines()[-1] == (  # (a few-replicas warning may precede it)
        f"error: interrupted (SIGTERM); no output was left half-written; 3 of 4 finished replicas "
        f"are kept in {partial}: add --resume to the same command to run only the other 1")
    assert not (tmp_path / "ens").exists()
    go_on = [sys.executable, "-m", "corredor", "ensemble", *common]
    done = subprocess.run([*go_on, "--out", str(tmp_path / "ens"), "--resume"], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert not partial.exists()
    ref = subprocess.run([*go_on, "--out", str(tmp_path / "whole")], capture_output=True, text=True,
                         timeout=600)
    assert ref.returncode == 0, ref.stderr
    assert _files(tmp_path / "ens") == _files(tmp_path / "whole")


# ---- the real engine -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mali_short(flee_cases: Path):
    import corredor

    pytest.importorskip("corredor.engine.agents")
    return corredor.load_scenario(flee_cases / "mali2012", hasten=10, days=120)


def test_real_engine_bands_reproducible_across_executors(mali_short, monkeypatch) -> None:
    """mali2012 at hasten 10 (120 days): same base seed -> identical bands, serial or 2 processes."""
    from corredor.analysis.executors import LocalProcessExecutor

    a = run_ensemble(mali_short, 6, seed=21)
    with LocalProcessExecutor(workers=2) as ex:
        b = run_ensemble(mali_short, 6, seed=21, executor=ex)
    for name in a.bands.data_vars:
        np.testing.assert_array_equal(a.bands[name].values, b.bands[name].values)
    import pandas as pd

    pd.testing.assert_frame_equal(a.metric_table(), b.metric_table())  # NaN-aware, says what differs
    assert {"population", "arrivals", "travellers", "total_people"} <= set(a.bands.data_vars)
    ard = a.summary["baseline"]["ard_rescaled_mean"]
    assert ard["n"] == 6 and 0 < ard["q05"] <= ard["q50"] <= ard["q95"] < 2
    # the deterministic spawn series is the same in every replica: its band has zero width
    tp = a.bands["total_people"].sel(variant="baseline")
    np.testing.assert_array_equal(tp.sel(stat="q05").values, tp.sel(stat="q95").values)
    # populations vary between replicas somewhere
    pop = a.bands["population"].sel(variant="baseline")
    assert float((pop.sel(stat="q95") - pop.sel(stat="q05")).max()) > 0


def test_real_engine_bands_count_people_and_name_links(mali_short, tmp_path) -> None:
    """At hasten 10 the bands are of people (10 per agent), and each link's rows carry its ends."""
    import pandas as pd

    import corredor

    ens = run_ensemble(mali_short, 2, seed=5)
    one = corredor.simulate(mali_short, seed=int(ens.manifest["replica_seeds"][0]))
    tp = ens.bands["total_people"].sel(variant="baseline", stat="q50").values
    np.testing.assert_array_equal(tp, 10 * one.dataset["total_people"].values)
    assert ens.bands["population"].attrs["units"] == "people"
    assert ens.summary["baseline"]["people_final"]["q50"] == 10 * float(one.dataset["total_people"][-1])
    out = write_ensemble(ens, tmp_path / "ens", plot=False)
    frame = pd.read_parquet(out / "bands" / "travellers.parquet")
    assert list(frame.columns[:6]) == ["variant", "day", "date", "route", "route_from", "route_to"]
    # each day's calendar date beside it, as in a run folder (the scenario's start + day)
    start = mali_short.start_date
    assert all(d == start + dt.timedelta(days=int(k)) for k, d in frame[["day", "date"]].itertuples(index=False))
    ends = dict(zip(one.dataset["route"].values, zip(one.dataset["route_from"].values,
                                                     one.dataset["route_to"].values, strict=True),
                    strict=True))
    assert all(ends[r] == (a, b) for r, a, b in frame[["route", "route_from", "route_to"]].itertuples(index=False))
    back = read_bands(out)["travellers"]
    assert set(back.dims) == {"stat", "variant", "day", "route"}
    assert back["route_to"].values.tolist() == one.dataset["route_to"].values.tolist()
    np.testing.assert_array_equal(back.sel(stat="q50", variant="baseline").transpose("day", "route").values,
                                  ens.bands["travellers"].sel(stat="q50", variant="baseline").values)


def test_a_sweep_over_hasten_gives_bands_of_people_in_every_variant(flee_cases) -> None:
    """Each variant's bands are scaled by its own hasten (they were all scaled by the first one's:
    a hasten-1 variant after a hasten-10 one came out 10 times too large)."""
    import corredor

    sc = corredor.load_scenario(flee_cases / "mali2012", hasten=10, days=15)
    for order in ([10, 1], [1, 10]):
        variants = [Variant(f"h{h}", {"optimisations.hasten": h}) for h in order]
        ens = run_ensemble(sc, 1, seed=3, variants=variants)
        tp = {v.label: float(ens.bands["total_people"].sel(variant=v.label, stat="q50").values[-1])
              for v in variants}
        # the spawn totals are deterministic: the two differ only by hasten-10's truncation
        assert tp["h1"] > 10_000 and abs(tp["h10"] - tp["h1"]) < 0.01 * tp["h1"], (order, tp)
        assert ens.bands["population"].attrs["units"] == "people"


def test_the_manifest_says_the_hasten_the_variants_ran_at(flee_cases) -> None:
    """`--set optimisations.hasten=5` ran at 5 and scaled the bands by 5, but the manifest (and
    the report's "each agent stands for 10 people") said the scenario's 10; a sweep over hasten
    has no one hasten, and each variant states its own."""
    import corredor

    sc = corredor.load_scenario(flee_cases / "mali2012", hasten=10, days=5)
    ens = run_ensemble(sc, 1, seed=3, variants=[Variant("baseline", {"optimisations.hasten": 5})])
    assert ens.manifest["hasten"] == 5 and ens.manifest["variants"][0]["hasten"] == 5
    ens = run_ensemble(sc, 1, seed=3, variants=[Variant(f"h{h}", {"optimisations.hasten": h}) for h in (5, 10)])
    assert ens.manifest["hasten"] is None
    assert [v["hasten"] for v in ens.manifest["variants"]] == [5, 10]
    assert run_ensemble(sc, 1, seed=3).manifest["hasten"] == 10


def test_quantile_view_has_numeric_quantiles() -> None:
    from corredor.analysis.ensemble import quantile_view

    ens = _run(replicas=5)
    q = quantile_view(ens.bands["population"])
    assert list(q["quantile"].values) == list(QUANTILES)
    np.testing.assert_array_equal(q.sel(quantile=0.5).values,
                                  ens.bands["population"].sel(stat="q50").values)


def test_crisis_scenario_gets_bands_for_every_record() -> None:
    """Chile–Peru: stranded, crossings (day × crossing × mode), money... all get bands."""
    import corredor

    root = Path(__file__).resolve().parents[1] / "scenarios" / "chile-peru-2023"
    if not root.is_dir():
        pytest.skip("shipped Chile–Peru scenario not present")
    sc = corredor.load_scenario(root)
    ens = run_ensemble(sc, 3, seed=5)
    bands = ens.bands
    for name in ("stranded", "crossings", "money_paid_usd", "give_ups", "population"):
        assert name in bands and bands[name].dims[:3] == ("variant", "stat", "day"), name
    assert {"crossing", "mode"} <= set(bands["crossings"].dims)
    peak = ens.summary["baseline"]["peak_stranded"]
    assert peak["n"] == 3 and peak["q05"] <= peak["q50"] <= peak["q95"]
    # each replica's peak is that of the same seed run on its own
    checked = [o for o in ens.observations if "replicas" in o]
    assert {o["kind"] for o in checked} == {"lower_bound", "peak"}  # (the scenario reports both)
    assert {o["kind"] for o in ens.observations} > {"lower_bound", "peak", "point"}  # every report is kept
    for row in ens.metrics:
        run = corredor.simulate(sc, seed=int(row["seed"])).dataset
        alone = run["stranded"].sum("location")
        assert row["peak_stranded"] == float(alone.max()) > 0
        assert row["stranded_peak_day"] == int(np.argmax(alone.values))  # (and its day)
        # each lower bound's and peak's figure is the one a run's report sets against it
        for o in checked:
            camp = run["population"].sel(location=o["location"]).values
            want = camp[o["day"]] if o["kind"] == "lower_bound" else camp[: o["day"] + 1].max()
            assert o["replicas"]["baseline"][row["replica"]] == want, o
    # and its policy and supplies metrics are `compare`'s for that seed, under compare's keys (the
    # same definitions and keys: the peak was `stranded_peak` here, `peak_stranded` there)
    from corredor.analysis.compare import ALL_METRICS, compare

    comp = compare({"baseline": sc}, seeds=3, base_seed=5)
    assert comp.seeds == [int(row["seed"]) for row in ens.metrics]
    assert set(ALL_METRICS) <= set(ens.summary["baseline"])
    for key in ALL_METRICS:
        np.testing.assert_array_equal([row[key] for row in ens.metrics], comp.values["baseline"][key], err_msg=key)
    assert min(row["water_l"] for row in ens.metrics) > 0 and min(row["give_ups"] for row in ens.metrics) > 0


def test_cli_ensemble_of_a_policy_variant_is_labelled_by_its_name(tmp_path: Path) -> None:
    """Found by a planner's walkthrough: it was labelled `base` in metrics.csv and the bands."""
    from typer.testing import CliRunner

    from corredor.cli import app

    variant = Path(__file__).resolve().parents[1] / "scenarios" / "chile-peru-2023" / "variants" / "bribe_55.toml"
    if not variant.is_file():
        pytest.skip("shipped Chile–Peru scenario not present")
    r = CliRunner().invoke(app, ["ensemble", str(variant), "--replicas", "2", "--out", str(tmp_path / "e"),
                                 "--no-plot", "--quiet"])
    assert r.exit_code == 0, r.output
    rows = (tmp_path / "e" / "metrics.csv").read_text().splitlines()[2:]  # header, HXL row
    assert rows and all(line.startswith("bribe-55,") for line in rows)


def test_band_panels_show_the_sites_that_held_anyone(tmp_path) -> None:
    """A walkthrough's bands.png gave 6 of 9 panels to places that were always empty, named by
    code: a crisis ensemble's panels are its sites, busiest first, none empty throughout."""
    from corredor.analysis.ensemble import band_panels

    sc = load_scenario(CHILE).with_days(100)
    ens = run_ensemble(sc, 2, seed=4)
    variable, stacked, order = band_panels(ens.bands)
    cells = [stacked["cell"].values[k][0] for k in order]  # (stacked cells are tuples: (location,))
    assert variable == "population" and cells[0] == "camp"  # the Concordia line camp first
    kinds = dict(zip(ens.bands["location"].values, ens.bands["kind"].values, strict=True))
    assert all(kinds[c] in ("staging", "shelter", "camp") for c in cells)
    assert all(float(stacked.isel(cell=int(k)).sel(stat="q95").max()) > 0 for k in order)
    out = write_ensemble(ens, tmp_path / "e")
    assert (out / "bands.png").stat().st_size > 1000


def test_bands_png_marks_a_crisis_reports_as_camps_png_does() -> None:
    """bands.png drew a crisis's reports from the gridded `observed`, which holds a range as one
    value ("150–200" as a dot at 175) and no lower bound: they are now marked as camps.png marks
    a run's (`plots.draw_observations`): a range as a vertical bar from its low to its high figure,
    a lower bound as an upward triangle, a count as a dot; a place without reports keeps its
    observed dots, and the legend names each kind of mark, whichever panel has it."""
    from matplotlib.collections import LineCollection

    from corredor.analysis.ensemble import bands_figure

    ens = _run(replicas=3, executor=SerialExecutor())
    ens.observations = [
        {"day": 5, "location": "camp1", "kind": "point", "value": 12.0, "low": None, "high": None},
        {"day": 10, "location": "camp1", "kind": "range", "value": 22.0, "low": 15.0, "high": 30.0},
        {"day": 20, "location": "camp1", "kind": "lower_bound", "value": 40.0, "low": 40.0, "high": None},
        {"day": 20, "location": "camp1", "kind": "outflow", "value": 7.0, "low": None, "high": None},  # (not drawn)
    ]
    fig = bands_figure(ens)
    panels = {ax.get_title(): ax for ax in fig.axes if ax.get_title()}
    assert set(panels) == {"camp1", "camp2"}
    camp1, camp2 = panels["camp1"], panels["camp2"]
    bars = [c for c in camp1.collections if isinstance(c, LineCollection)]
    # (x in dates, from the toy's start date 2020-01-01, as the page's charts: matplotlib's day numbers)
    from matplotlib.dates import date2num

    def on(t):
        return np.datetime64("2020-01-01") + np.timedelta64(t, "D")

    ten = float(date2num(on(10)))
    assert [[s.tolist() for s in bar.get_segments()] for bar in bars] == [[[[ten, 15.0], [ten, 30.0]]]]
    marks = {line.get_label(): line for line in camp1.get_lines() if line.get_marker() not in ("None", None, "")}
    triangle, dot = marks["reported lower bound"], marks["reported"]
    assert triangle.get_marker() == "^" and (list(triangle.get_xdata()), list(triangle.get_ydata())) == ([on(20)], [40.0])
    assert dot.get_marker() == "o" and (list(dot.get_xdata()), list(dot.get_ydata())) == ([on(5)], [12.0])
    assert set(marks) == {"reported", "reported lower bound"}  # no "observed" dots beside the reports
    assert "observed" in [line.get_label() for line in camp2.get_lines()]  # (no reports there: as before)
    (legend,) = fig.legends  # the figure's one legend, right of the panels (as camps.png's)
    assert {"reported", "reported range", "reported lower bound", "observed"} <= {t.get_text() for t in legend.get_texts()}
    assert all(ax.get_legend() is None for ax in fig.axes)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    box = legend.get_window_extent(canvas.get_renderer())
    assert fig.bbox.contains(box.x0, box.y0) and fig.bbox.contains(box.x1, box.y1)
    for ax in (camp1, camp2):  # (so it covers no band, line or report in them)
        assert not box.overlaps(ax.get_window_extent(canvas.get_renderer())), ax.get_title()


def test_cli_ensemble_of_a_crisis_says_where_a_metric_has_no_value(tmp_path: Path) -> None:
    """Crisis ensembles report compare's metrics; `days_until_camp_empties` is NaN in a run that
    ends before the camp empties (100 days: 11 May): the table printed "– – –"; it now says that
    no replica has a value, and why, and the other metrics have a value in every replica."""
    from typer.testing import CliRunner

    from corredor.cli import app

    root = Path(__file__).resolve().parents[1] / "scenarios" / "chile-peru-2023"
    r = CliRunner().invoke(app, ["ensemble", str(root), "--replicas", "2", "--days", "100", "--executor", "serial",
                                 "--out", str(tmp_path / "e"), "--no-plot"], env={"COLUMNS": "120"})
    assert r.exit_code == 0, r.output
    from corredor.analysis.compare import heading

    def row_of(key: str) -> str:
        """The table's line that gives `key`'s figures: the first of its heading's (folded at
        the console's width)."""
        return next(line for line in r.output.splitlines() if line.startswith("│")
                    and (cell := line.split("│")[2].strip()) and heading(key).startswith(cell))

    row = row_of("days_until_camp_empties")
    assert "in no replica" in row and "– –" not in row, r.output
    assert ("baseline, days until nobody is stranded: people were still stranded on the run's last day in any "
            "replica" in " ".join(r.output.split())), r.output
    # counts (people, whole in every replica) print whole, as compare prints them: not "497.1 – 507.7"
    for metric in ("peak_stranded", "give_ups", "peak_toilets"):
        row = row_of(metric)
        assert "." not in row.split("│")[3] + row.split("│")[4], row
    summary = json.loads((tmp_path / "e" / "metrics_summary.json").read_text(encoding="utf-8"))["baseline"]
    # the day of each replica's stranded peak: its median and band as dates, not day numbers
    from corredor.outputs.formatting import day_date

    s = summary["stranded_peak_day"]
    row = row_of("stranded_peak_day")
    assert row.split("│")[3].strip() == day_date(s["q50"], "2023-02-01")
    assert row.split("│")[4].strip() == f"{day_date(s['q05'], '2023-02-01')} – {day_date(s['q95'], '2023-02-01')}"
    assert summary["days_until_camp_empties"]["n"] == 0
    assert all(s["n"] == 2 for k, s in summary.items() if k != "days_until_camp_empties")
    assert summary["water_l"]["q50"] > 0 and summary["flown_out"]["q50"] == 115


def test_ensemble_and_compare_name_metrics_baseline_and_sweep_points_alike(tmp_path: Path) -> None:
    """Found by a user's acceptance pass: the same things had two names. The peak was
    `peak_stranded` in comparison.csv and `stranded_peak` in metrics.csv; the scenario as written
    "baseline" and "base"; a sweep point "bribe_price_usd=0" and "crisis.bribe_price_usd=0"; and
    the ensemble's table printed raw keys, which broke inside a word at 80 columns
    ("stranded_person_d" / "ays"). One key, one heading (`compare.heading`) and one name each now."""
    import pandas as pd
    from typer.testing import CliRunner

    from corredor.analysis.compare import ALL_METRICS, heading
    from corredor.cli import app

    root = Path(__file__).resolve().parents[1] / "scenarios" / "chile-peru-2023"
    sweep = ["--sweep", "crisis.bribe_price_usd=0"]
    runner = CliRunner()
    r = runner.invoke(app, ["compare", str(root), "--seeds", "1", "--executor", "serial", *sweep,
                            "--out", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    comparison = pd.read_csv(tmp_path / "c" / "comparison.csv", skiprows=[1])
    # (in a one-way sweep compare names the baseline by its value too, in value order:
    # test_compare.py::test_a_one_way_sweep_shows_the_baseline_in_value_order_with_its_value;
    # a price of 0 is no paid passage, and its name says so, in both: `native_crisis.zero_meaning`)
    assert comparison["scenario"].unique().tolist() == ["bribe_price_usd=100 (baseline)",
                                                        "bribe_price_usd=0 (no paid passage)"]
    for args, names in ((sweep, ["bribe_price_usd=0 (no paid passage)"]), ([], ["baseline"])):
        out = tmp_path / f"e{len(args)}"
        r = runner.invoke(app, ["ensemble", str(root), "-n", "1", "--days", "40", "--executor", "serial",
                                *args, "--out", str(out), "--no-plot"], env={"COLUMNS": "80"})
        assert r.exit_code == 0, r.output
        summary = json.loads((out / "metrics_summary.json").read_text(encoding="utf-8"))
        assert list(summary) == names
        metrics = pd.read_csv(out / "metrics.csv", skiprows=[1])
        assert metrics["variant"].tolist() == names
        # every metric of comparison.csv is a column of metrics.csv and a key of the summary, by its key
        assert set(comparison["metric"]) == set(ALL_METRICS) and set(ALL_METRICS) <= set(metrics.columns)
        assert set(ALL_METRICS) <= set(summary[names[0]]) and "stranded_peak" not in metrics.columns
        # the table: each metric by its heading, folded at its spaces only (the headings read whole
        # from the column's lines, in the summary's order)
        column = [line.split("│")[2].strip() for line in r.output.splitlines() if line.startswith("│")]
        assert " ".join(c for c in column if c) == " ".join(heading(k) for k in summary[names[0]]), r.output
        assert "peak stranded (people)" in column and "stranded_person_days" not in r.output


def test_old_metric_keys_are_read_as_todays_in_their_place() -> None:
    """An ensemble folder of an earlier version wrote `stranded_peak` for compare's `peak_stranded`:
    read, it is today's key, in its place; where both are there the new one is kept."""
    from corredor.analysis.ensemble import OLD_METRIC_KEYS, current_metric_keys

    assert OLD_METRIC_KEYS == {"stranded_peak": "peak_stranded"}
    got = current_metric_keys({"people_final": 1, "stranded_peak": 2, "stranded_peak_day": 3})
    assert list(got.items()) == [("people_final", 1), ("peak_stranded", 2), ("stranded_peak_day", 3)]
    assert current_metric_keys({"stranded_peak": 2, "peak_stranded": 5}) == {"peak_stranded": 5}
