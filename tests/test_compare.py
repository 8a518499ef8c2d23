"""Policy comparison: metrics of one run, common seeds across variants, files, CLI."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from corredor.analysis.compare import (
    ALL_METRICS,
    METRICS,
    compare,
    policy_metrics,
    write_comparison,
)
from corredor.cli import app
from corredor.scenario import load_scenario
from corredor.scenario.native_crisis import load_variant

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "scenarios" / "chile-peru-2023"


def fake_run(stranded: list[int]) -> xr.Dataset:
    T = len(stranded)
    return xr.Dataset(
        {
            "stranded": (("day", "location"), np.array([stranded, [0] * T]).T),
            "money_paid_usd": (("day", "crossing"), np.full((T, 2), 10.0)),
            "give_ups": (("day",), np.arange(T)),
            "crossings": (("day", "crossing", "mode"), np.ones((T, 2, 3), dtype=int)),
        },
        coords={"location": ["camp", "town"], "crossing": ["c", "elsewhere"],
                "mode": ["regular", "irregular", "flight"]},
    )


def test_policy_metrics_of_a_known_series():
    m = policy_metrics(fake_run([0, 0, 3, 5, 2, 0, 0, 4, 0]))
    assert m["peak_stranded"] == 5
    assert m["stranded_person_days"] == 14
    assert m["days_until_camp_empties"] == 3  # formed day 2, peak day 3, empty on day 5
    assert m["money_paid_usd"] == 9 * 2 * 10.0
    assert m["give_ups"] == sum(range(9))
    assert m["irregular_crossings"] == 9 * 2
    assert m["flown_out"] == 9 * 2 and m["corridor_moves"] == 0  # (no corridor mode in this run)
    assert set(m) == set(METRICS)


def test_no_camp_is_zero_days_and_never_empties_is_nan():
    assert policy_metrics(fake_run([0, 0, 0]))["days_until_camp_empties"] == 0
    assert math.isnan(policy_metrics(fake_run([0, 2, 3]))["days_until_camp_empties"])


def by_group_run(vulnerable: tuple[bool, bool] | None = (False, True)) -> xr.Dataset:
    """A run of 4 days at two places, two groups (the second vulnerable unless `vulnerable` says
    otherwise; None: no `group_vulnerable`), stranded group by group as the crisis engine
    records them: camp a 0 3 5 1, camp b 0 1 2 2, town b 1 0 0 1."""
    by_group = np.zeros((4, 2, 2), dtype=np.int64)  # (day, location, group)
    by_group[:, 0, 0] = [0, 3, 5, 1]
    by_group[:, 0, 1] = [0, 1, 2, 2]
    by_group[:, 1, 1] = [1, 0, 0, 1]
    ds = fake_run([0] * 4).assign(
        stranded=(("day", "location"), by_group.sum(axis=2)),
        stranded_by_group=(("day", "location", "group"), by_group))
    ds = ds.assign_coords(group=["a", "b"])
    return ds if vulnerable is None else ds.assign_coords(group_vulnerable=("group", list(vulnerable)))


def test_vulnerable_stranded_of_a_known_run():
    """The vulnerable group's stranded, all places together, are 1 1 2 3 a day: a peak of 3 on
    the last day (not the 2 of the busiest day, when 7 were stranded) and 7 person-days."""
    m = policy_metrics(by_group_run())
    assert (m["peak_stranded"], m["stranded_person_days"]) == (7, 16)
    assert m["peak_stranded_vulnerable"] == 3
    assert m["vulnerable_stranded_person_days"] == 1 + 1 + 2 + 3
    # both groups vulnerable: every stranded person is; none: nobody vulnerable is stranded
    both = policy_metrics(by_group_run((True, True)))
    assert (both["peak_stranded_vulnerable"], both["vulnerable_stranded_person_days"]) == (7, 16)
    none = policy_metrics(by_group_run((False, False)))
    assert (none["peak_stranded_vulnerable"], none["vulnerable_stranded_person_days"]) == (0, 0)


def test_vulnerable_stranded_unknown_is_no_value_not_zero():
    """Results that do not say who of the stranded was vulnerable (written before the engine
    recorded stranded_by_group, or without group_vulnerable) give no value, with why, not a
    false 0; where nobody was stranded at all, nobody vulnerable was: 0."""
    from corredor.analysis.compare import NO_VALUE_REASONS, key_figure_rows

    keys = ("peak_stranded_vulnerable", "vulnerable_stranded_person_days")
    for ds in (by_group_run().drop_vars("stranded_by_group"), by_group_run(None), fake_run([0, 2, 3])):
        m = policy_metrics(ds)
        assert all(math.isnan(m[k]) for k in keys), ds
    assert all(policy_metrics(fake_run([0, 0, 0]))[k] == 0 for k in keys)
    rows = dict(key_figure_rows({"peak_stranded": 5.0, "peak_stranded_vulnerable": None}))
    assert rows["peak vulnerable people stranded"] == NO_VALUE_REASONS["peak_stranded_vulnerable"]
    # a manifest written before the metric existed: no row for it, not "–" nor 0
    assert [label for label, _ in key_figure_rows({"peak_stranded": 5.0})] == ["peak stranded"]


@pytest.fixture(scope="module")
def small_comparison():
    base = load_scenario(SCENARIO)
    same = load_variant(SCENARIO / "variants" / "bribe_100.toml")  # = baseline's price
    cheap = load_variant(SCENARIO / "variants" / "bribe_55.toml")
    return compare({"baseline": base, "bribe-100": same, "bribe-55": cheap}, seeds=3, base_seed=5)


def test_a_compared_run_says_its_engine_and_compile_time_as_simulate_does():
    """The Results a comparison keeps (the main job writes them as run folders) carry the
    manifest's `engine_choice` and `timing.compile_s`, as `simulate`'s do (docs/outputs.md: every
    run folder has both); they lacked both, run by the crisis engine directly. Same figures."""
    from corredor.simulate import simulate

    base = load_scenario(SCENARIO)
    short = dataclasses.replace(base, days=20)
    comp = compare({"baseline": short}, seeds=1, base_seed=5, keep=1)
    kept = comp.runs["baseline"][0]
    alone = simulate(short, seed=comp.seeds[0])
    assert kept.manifest["engine_choice"] == alone.manifest["engine_choice"]
    assert kept.manifest["engine_choice"]["asked"] == "auto"
    assert isinstance(kept.manifest["timing"]["compile_s"], float)
    assert kept.manifest["timing"]["compile_s"] >= 0
    xr.testing.assert_identical(kept.dataset, alone.dataset)


def test_common_seeds_make_an_identical_variant_identical(small_comparison):
    comp = small_comparison
    for key in ALL_METRICS:
        np.testing.assert_array_equal(comp.values["baseline"][key], comp.values["bribe-100"][key])
    assert not np.array_equal(comp.values["baseline"]["money_paid_usd"],
                              comp.values["bribe-55"]["money_paid_usd"])


def test_the_vulnerable_stranded_are_among_the_stranded(small_comparison):
    """On Chile–Peru runs (3 seeds, 3 scenarios): the vulnerable stranded never outnumber the
    stranded, at the peak or over the run; and some are stranded in the baseline, but fewer than
    all (its vulnerable groups are 3 % of the people)."""
    comp = small_comparison
    for name in comp.names:
        v = comp.values[name]
        assert (v["peak_stranded_vulnerable"] <= v["peak_stranded"]).all(), name
        assert (v["vulnerable_stranded_person_days"] <= v["stranded_person_days"]).all(), name
        assert (v["peak_stranded_vulnerable"] <= v["vulnerable_stranded_person_days"]).all(), name
    base = comp.values["baseline"]
    assert (base["peak_stranded_vulnerable"] > 0).all()
    assert (base["vulnerable_stranded_person_days"] < base["stranded_person_days"]).all()


def test_the_camp_series_is_of_the_line_whatever_its_name(small_comparison):
    """Found by an acceptance pass: comparison.json's `camp_median` was kept only for a place named
    `camp`, so a scenario written for another border (its line `north_post`, of kind staging) got
    `{}` for every scenario. The place is now the one named `camp`, else the first of kind
    staging, else none; comparison.json names it (`camp_place`)."""
    from types import SimpleNamespace as NS

    from corredor.analysis.compare import camp_place, comparison_json

    def scen(*places):
        return NS(locations=[NS(name=n, kind=k) for n, k in places])

    assert camp_place(scen(("city", "city"), ("north_post", "staging"), ("south_post", "staging"))) == "north_post"
    assert camp_place(scen(("north_post", "staging"), ("camp", "city"))) == "camp"  # (the name first)
    assert camp_place(scen(("city", "city"), ("shelter", "shelter"))) is None
    data = comparison_json(small_comparison)
    assert data["camp_place"] == "camp"
    runs = compare({"baseline": load_scenario(SCENARIO)}, seeds=1, base_seed=5, keep=1)
    population = runs.runs["baseline"][0].dataset["population"].sel(location="camp").values
    np.testing.assert_array_equal(runs.camp["baseline"][0], population)


def test_summary_rows_and_files(small_comparison, tmp_path):
    comp = small_comparison
    rows = comp.summary()
    assert len(rows) == 3 * len(ALL_METRICS)
    for r in rows:
        if not math.isnan(r["median"]):
            assert r["p05"] <= r["median"] <= r["p95"]
    paths = {p.name: p for p in write_comparison(comp, tmp_path / "out")}
    with open(paths["comparison.csv"], newline="", encoding="utf-8") as f:
        table = list(csv.reader(f))
    assert table[0][:4] == ["scenario", "metric", "unit", "median"]
    assert table[1][0].startswith("#")  # HXL hashtag row
    assert len(table) == 2 + len(rows)
    # like needs.csv: CRLF line ends and ASCII units (Excel, which reads a BOM-less file as
    # Latin-1, showed "mÂ²")
    raw = paths["comparison.csv"].read_bytes()
    assert raw.count(b"\r\n") == len(table) and raw.count(b"\n") == len(table)
    assert raw.isascii() and "m2" in {r[2] for r in table[2:]}
    data = json.loads(paths["comparison.json"].read_text(encoding="utf-8"))
    assert data["scenarios"] == ["baseline", "bribe-100", "bribe-55"]
    assert data["descriptions"]["baseline"].startswith("People leaving Chile")  # scenario.toml's
    assert "USD" in data["descriptions"]["bribe-55"]  # the variant's own
    assert len(data["per_seed"]["baseline"]["peak_stranded"]) == 3
    assert [int(t) for t in data["seeds_text"]] == data["seeds"]
    assert {r["unit"] for r in data["summary"]} == {m["unit"] for m in data["metrics"].values()}
    assert "m2" in {r["unit"] for r in data["summary"]}  # one spelling in every data file
    dates = data["dates"]["baseline"]
    assert len(dates) == len(data["stranded_median"]["baseline"])
    assert dates[0] == "2023-02-01" and dates[-1] == "2023-06-30"
    assert not list((tmp_path / "out").glob("*.tmp"))


def test_write_comparison_writes_the_four_files_and_replaces_them_only_with_force(small_comparison,
                                                                                  tmp_path):
    """`write_comparison` replaced an earlier comparison by default (`replace=True`), unlike
    write_run_folder, write_ensemble and write_calibration (`force=False`), and wrote only the
    CSV and JSON: the PNG and the page took two more calls. One call now writes what
    `corredor compare --out` writes, and keeps what is there unless `force`."""
    from corredor.analysis.compare import ComparisonExists

    out = tmp_path / "cmp"
    paths = write_comparison(small_comparison, out)
    assert sorted(p.name for p in paths) == ["comparison.csv", "comparison.html", "comparison.json",
                                             "comparison.png"]
    assert (out / "comparison.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "bribe-55" in (out / "comparison.html").read_text(encoding="utf-8")
    (out / "comparison.json").write_text("mine")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(ComparisonExists, match=r"already holds comparison\.png, .*force=True"):
        write_comparison(small_comparison, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    write_comparison(small_comparison, out, force=True)
    assert json.loads((out / "comparison.json").read_text())["scenarios"][0] == "baseline"
    other = tmp_path / "data-only"
    assert [p.name for p in write_comparison(small_comparison, other, figures=False)] == [
        "comparison.csv", "comparison.json"]


def _old_pair(folder: Path) -> dict[str, bytes]:
    folder.mkdir()
    (folder / "comparison.csv").write_text("old csv")
    (folder / "comparison.json").write_text('{"summary": [], "per_seed": {}}')
    (folder / "mine.txt").write_text("the user's")  # (compare writes into the user's folder)
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_a_failed_write_leaves_the_old_pair_and_no_temporary(small_comparison, tmp_path,
                                                              monkeypatch):
    """comparison.csv and comparison.json were two atomic writes: a failure of the second (a full
    disk) left a new CSV beside the old JSON. Both are now written to temporaries first, and
    renamed only when both are complete."""
    import errno
    import os

    out = tmp_path / "out"
    before = _old_pair(out)
    real_fdopen = os.fdopen
    opened: list[int] = []

    def disk_full_at_the_second_file(fd, *args, **kwargs):
        opened.append(fd)
        if len(opened) == 2:
            os.close(fd)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fdopen(fd, *args, **kwargs)

    monkeypatch.setattr(os, "fdopen", disk_full_at_the_second_file)
    with pytest.raises(OSError, match="No space"):
        write_comparison(small_comparison, out, force=True, figures=False)
    monkeypatch.undo()
    assert len(opened) == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # (and no temporary)
    write_comparison(small_comparison, out, force=True)
    assert json.loads((out / "comparison.json").read_text())["scenarios"][0] == "baseline"


def test_a_stop_signal_between_the_renames_waits_for_the_pair(small_comparison, tmp_path,
                                                             monkeypatch):
    """SIGTERM after comparison.csv was renamed into place raised KeyboardInterrupt before
    comparison.json was: a new CSV beside the old JSON. The signal now waits for both renames;
    the pair is then the command's output, complete, so the stop no longer interrupts it
    (`stopping.late`: the command finishes, docs/reliability.md §5)."""
    import os
    import signal
    import threading

    from corredor import stopping

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers run in the main thread only")
    out = tmp_path / "out"
    before = _old_pair(out)
    real_replace = os.replace

    def replace_then_stop(src, dst):
        real_replace(src, dst)
        if Path(dst).name == "comparison.csv":
            os.kill(os.getpid(), signal.SIGTERM)

    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    stopping.install()
    try:
        monkeypatch.setattr(os, "replace", replace_then_stop)
        write_comparison(small_comparison, out, force=True, figures=False)
        assert stopping.late() == signal.SIGTERM and stopping.stopped_by() is None
    finally:
        monkeypatch.undo()
        stopping.uninstall()  # (the handlers from before, and no stop left for later tests)
        assert all(signal.getsignal(sig) is handler for sig, handler in saved.items())
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert sorted(after) == sorted(before)  # (no temporary)
    assert after["comparison.csv"] != before["comparison.csv"]
    assert json.loads(after["comparison.json"])["scenarios"][0] == "baseline"  # (both new)



def test_a_stop_signal_held_while_a_rename_fails_is_raised_once(tmp_path, monkeypatch):
    """Found by review: a stop signal held (`stopping.held`) while the held renames failed was
    neither raised then (the failure went up instead, the stop lost) nor forgotten: the next
    held section raised a KeyboardInterrupt that no signal had asked for. It is now raised when
    the section ends, failing or not, and only then."""
    import errno
    import os
    import signal
    import threading

    from corredor import stopping, targets

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers run in the main thread only")
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    real_rename = Path.rename

    def stop_then_fail(self, target):
        if Path(target) == out and self.name.endswith(".tmp"):  # (the new folder into place)
            os.kill(os.getpid(), signal.SIGTERM)
            raise OSError(errno.EIO, "Input/output error")
        return real_rename(self, target)

    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    stopping.install()
    try:
        monkeypatch.setattr(Path, "rename", stop_then_fail)
        with pytest.raises(KeyboardInterrupt):
            targets.swap_in(out, lambda folder: (folder / "new.txt").write_text("new"))
        monkeypatch.undo()
        assert stopping.stopped_by() == signal.SIGTERM
        with stopping.held():  # (nothing left pending)
            pass
    finally:
        monkeypatch.undo()
        stopping.uninstall()  # (the handlers from before, and no stop left for later tests)
        assert all(signal.getsignal(sig) is handler for sig, handler in saved.items())
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # (no temporary, no .old)
    assert [p.name for p in out.iterdir()] == ["old.txt"]

def test_a_comparison_is_the_same_on_worker_processes():
    """`compare` runs its (scenario, seed) pairs on an executor: in two worker processes, with
    the results coming back in any order, it gives the serial comparison exactly (every metric,
    the daily series, the kept runs), since a run's random numbers are keyed by its seed."""
    from corredor.analysis.executors import LocalProcessExecutor, SerialExecutor

    base = load_scenario(SCENARIO).with_days(90)
    cheap = load_variant(SCENARIO / "variants" / "bribe_55.toml").with_days(90)
    scenarios = {"baseline": base, "bribe-55": cheap}
    seen: list[tuple[str, int, int]] = []
    serial = compare(scenarios, seeds=3, base_seed=8, keep=1, executor=SerialExecutor())
    with LocalProcessExecutor(workers=2, max_batch=1) as ex:
        par = compare(scenarios, seeds=3, base_seed=8, keep=1, executor=ex,
                      progress=lambda name, done, n: seen.append((name, done, n)))
    assert par.names == serial.names and par.seeds == serial.seeds
    for name in scenarios:
        for key in ALL_METRICS:
            np.testing.assert_array_equal(par.values[name][key], serial.values[name][key])
        np.testing.assert_array_equal(par.stranded[name], serial.stranded[name])
        np.testing.assert_array_equal(par.camp[name], serial.camp[name])
        assert len(par.runs[name]) == 1
        xr.testing.assert_identical(par.runs[name][0].dataset, serial.runs[name][0].dataset)
    assert par.stranded["baseline"].max() > 0  # (people were stranded: the series say something)
    assert sorted(seen) == [(n, d, 3) for n in scenarios for d in (1, 2, 3)]



def test_a_comparison_is_the_same_on_dask():
    """The same comparison from a Dask cluster's workers (threads here) as in this process."""
    pytest.importorskip("distributed")
    from corredor.analysis.executors import SerialExecutor, make_executor

    scenarios = {"baseline": load_scenario(SCENARIO).with_days(60)}
    serial = compare(scenarios, seeds=3, base_seed=4, executor=SerialExecutor())
    with make_executor("dask", workers=2, processes=False) as ex:
        got = compare(scenarios, seeds=3, base_seed=4, executor=ex)
    for key in ALL_METRICS:
        np.testing.assert_array_equal(got.values["baseline"][key], serial.values["baseline"][key])
    np.testing.assert_array_equal(got.stranded["baseline"], serial.stranded["baseline"])


runner = CliRunner()


def test_cli_compare_on_workers_or_serial_prints_the_same(tmp_path):
    """`corredor compare` runs on worker processes by default; `--executor serial` in this
    process; either way the same comparison files. A bad executor option is refused (exit 2)."""
    args = ["compare", str(SCENARIO), str(SCENARIO / "variants" / "bribe_0.toml"), "--seeds", "2"]
    r = runner.invoke(app, [*args, "--workers", "2", "--out", str(tmp_path / "w")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, [*args, "--executor", "serial", "--out", str(tmp_path / "s")])
    assert r.exit_code == 0, r.output
    # (the page too: it said when it was written, "report written 10:01 UTC" beside "10:02 UTC")
    for name in ("comparison.csv", "comparison.json", "comparison.png", "comparison.html"):
        assert (tmp_path / "w" / name).read_bytes() == (tmp_path / "s" / name).read_bytes()
    r = runner.invoke(app, [*args, "--executor", "threads"])
    assert r.exit_code == 2 and "unknown executor 'threads'" in r.output
    r = runner.invoke(app, [*args, "--address", "tcp://127.0.0.1:9"])
    assert r.exit_code == 2 and "--address needs --executor dask" in r.output


def test_cli_compare_sweeps_and_sets_parameters(tmp_path):
    """`--sweep crisis.K=a,b` adds one scenario per value, made from the baseline, so a sweep
    point equals the variant file that sets the same value; `--set` applies to every scenario.
    Bad keys and a key both set and swept are refused before any run."""
    bribe55 = str(SCENARIO / "variants" / "bribe_55.toml")
    r = runner.invoke(app, ["compare", str(SCENARIO), bribe55, "--sweep", "crisis.bribe_price_usd=55,100",
                            "--seeds", "2", "--executor", "serial", "--out", str(tmp_path / "sweep")])
    assert r.exit_code == 0, r.output
    data = json.loads((tmp_path / "sweep" / "comparison.json").read_text(encoding="utf-8"))
    # (100, the baseline's own price, is its row: `test_a_sweep_point_that_is_the_baseline_runs_once_as_its_row`;
    # in a one-way sweep named by its value: `test_a_one_way_sweep_shows_the_baseline_in_value_order_with_its_value`)
    assert data["scenarios"] == ["bribe_price_usd=100 (baseline)", "bribe-55", "bribe_price_usd=55"]
    per_seed = data["per_seed"]
    assert per_seed["bribe_price_usd=55"] == per_seed["bribe-55"]
    assert per_seed["bribe-55"]["money_paid_usd"] != per_seed["bribe_price_usd=100 (baseline)"]["money_paid_usd"]
    assert data["descriptions"]["bribe_price_usd=55"] == (
        f"the baseline ({SCENARIO}) with bribe_price_usd=55")  # (not the baseline's own)

    r = runner.invoke(app, ["compare", str(SCENARIO), "--set", "crisis.bribe_price_usd=55",
                            "--seeds", "2", "--executor", "serial", "--out", str(tmp_path / "set")])
    assert r.exit_code == 0, r.output
    data = json.loads((tmp_path / "set" / "comparison.json").read_text(encoding="utf-8"))
    assert data["per_seed"]["baseline"] == per_seed["bribe-55"]
    # (the saved comparison says so: it did not, and read as the plain baseline's)
    assert data["descriptions"]["baseline"].startswith("People leaving Chile")
    assert data["descriptions"]["baseline"].endswith("(--set crisis.bribe_price_usd=55)")

    for args, said in [
        (["--sweep", "crisis.bribe_price=1,2"], "unknown crisis parameter 'bribe_price'"),
        (["--set", "move_rules.camp_weight=2"], "do not read settings.move_rules"),
        (["--set", "crisis.bribe_price_usd=5", "--sweep", "crisis.bribe_price_usd=1,2"],
         "crisis.bribe_price_usd is both --set and --sweep"),
        (["--sweep", "crisis.bribe_price_usd=1,1"], "1 is given twice"),
        (["--sweep", "crisis.bribe_price_usd=-5"], "bribe_price_usd"),
        (["--sweep", "crisis.peru_block=2023-4-6"],
         "crisis parameter 'peru_block': expected a date YYYY-MM-DD (a start or end cell is $peru_block), found '2023-4-6'"),
        (["--set", "crisis.peru_block=71"], "expected a date YYYY-MM-DD"),
        (["--set", "crisis.give_up_base=2023-04-06"], "crisis parameter 'give_up_base': expected a number"),
    ]:
        r = runner.invoke(app, ["compare", str(SCENARIO), "--seeds", "1", "--executor", "serial", *args])
        assert r.exit_code == 2 and said in " ".join(r.output.split()), (args, r.output)
        assert "Traceback" not in r.output and "policy comparison" not in r.output


def test_cli_compare_set_names_the_scenario_that_lacks_the_parameter():
    """Found by a first-time user: `compare BASELINE corridor_28apr.toml --set
    crisis.corridor_open=...` said only "unknown crisis parameter 'corridor_open'", though the
    corridor variant has it: --set changes every scenario, and the baseline lacks it."""
    corridor = str(SCENARIO / "variants" / "corridor_28apr.toml")
    r = runner.invoke(app, ["compare", str(SCENARIO), corridor, "--set", "crisis.corridor_open=2023-04-20",
                            "--seeds", "1", "--executor", "serial"])
    said = " ".join(r.output.split())
    assert r.exit_code == 2 and "Traceback" not in r.output, r.output
    assert (f"error: --set in baseline ({SCENARIO}): unknown crisis parameter 'corridor_open'; --set "
            "changes every scenario compared (--sweep only the baseline)") in said, r.output


def test_cli_compare_bad_inputs_exit_2(tmp_path):
    r = runner.invoke(app, ["compare", str(tmp_path / "missing")])
    assert r.exit_code == 2
    bad = tmp_path / "bad.toml"
    bad.write_text(f'[variant]\nbase = "{SCENARIO.as_posix()}"\n[crisis.parameters]\nspeed = 1\n',
                   encoding="utf-8")
    r = runner.invoke(app, ["compare", str(SCENARIO), str(bad), "--seeds", "1"])
    assert r.exit_code == 2
    assert "bad.toml:4" in r.output and "unknown crisis parameter 'speed'" in r.output
    assert "Traceback" not in r.output


def test_cli_compare_prints_and_writes(tmp_path):
    r = runner.invoke(app, ["compare", str(SCENARIO), str(SCENARIO / "variants" / "bribe_0.toml"),
                            "--seeds", "2", "--out", str(tmp_path), "--executor", "serial"])
    assert r.exit_code == 0, r.output
    # (the variant by its readable name, its file's `label`, as comparison.png and the page show
    # it; wrapped at its spaces to keep the table within 130 columns)
    assert [row[0] for row in _cli_tables(r.output)[0]] == ["baseline", "Informal price 0 USD (no informal passage)"]
    assert "peak stranded" in r.output
    assert (tmp_path / "comparison.csv").is_file() and (tmp_path / "comparison.json").is_file()
    # the vulnerable stranded: a table of their own, a column of the differences, rows of the files
    said = " ".join(r.output.split())
    assert "vulnerable people stranded (groups marked vulnerable): median [5–95 %] over 2 seeds" in said
    table = r.output[r.output.index("vulnerable people stranded (groups"):r.output.index("moved by events")]
    assert "vulnerable stranded person-days" in " ".join(table.split())
    assert max(len(line) for line in r.output.splitlines() if line[:1] in "┏┃│└") <= 130
    diff = r.output[r.output.index("difference from the baseline, seed by seed"):]
    assert "peak vulnerable" in diff[:diff.index("└")]
    with open(tmp_path / "comparison.csv", newline="", encoding="utf-8") as f:
        rows = {(row[0], row[1]): row for row in csv.reader(f)}
    data = json.loads((tmp_path / "comparison.json").read_text(encoding="utf-8"))
    for key, unit in (("peak_stranded_vulnerable", "people"), ("vulnerable_stranded_person_days", "person-days")):
        for name in ("baseline", "bribe-0"):
            assert rows[name, key][2] == unit and float(rows[name, key][3]) > 0
            assert len(data["per_seed"][name][key]) == 2
        assert data["metrics"][key]["unit"] == unit
        assert {(row["scenario"], row["metric"]) for row in data["summary"]} >= {("baseline", key), ("bribe-0", key)}
    assert (tmp_path / "comparison.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # (the figure, beside them)
    # a second compare into the same folder is refused before it runs, and --force replaces
    before = (tmp_path / "comparison.csv").read_bytes()
    r = runner.invoke(app, ["compare", str(SCENARIO), "--seeds", "1", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "already holds comparison.csv, comparison.json" in r.output
    assert "--force" in r.output and (tmp_path / "comparison.csv").read_bytes() == before
    r = runner.invoke(app, ["compare", str(SCENARIO), "--seeds", "1", "--out", str(tmp_path), "--force",
                            "--executor", "serial"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "comparison.csv").read_bytes() != before  # one scenario now, not two
    # the figure alone is not replaced without --force either
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "comparison.png").write_bytes(b"mine")
    r = runner.invoke(app, ["compare", str(SCENARIO), "--seeds", "1", "--out", str(alone)])
    assert r.exit_code == 2 and "already holds comparison.png" in r.output
    assert (alone / "comparison.png").read_bytes() == b"mine"


def test_comparison_files_written_meanwhile_are_kept_without_force(tmp_path, monkeypatch):
    """Two `compare --out same` at once: both found no comparison files at the start, and the
    one that finished second replaced the other's silently (exit 0 for both) although neither
    had --force. Now the second is refused with one line and the first one's files are kept."""
    import corredor.analysis.compare as comparing

    out = tmp_path / "same"
    theirs = '{"summary": [], "per_seed": {}}'
    real = comparing.compare

    def another_compare_finishes_meanwhile(*args, **kwargs):
        result = real(*args, **kwargs)
        out.mkdir()
        (out / "comparison.json").write_text(theirs)
        return result

    monkeypatch.setattr(comparing, "compare", another_compare_finishes_meanwhile)
    r = runner.invoke(app, ["compare", str(SCENARIO), "--seeds", "1", "--out", str(out),
                            "--executor", "serial"])
    assert r.exit_code == 2, r.output
    assert "written by another command while this one ran" in r.output and "--force" in r.output
    assert [p.name for p in out.iterdir()] == ["comparison.json"]  # (and no temporary)
    assert (out / "comparison.json").read_text() == theirs
    monkeypatch.undo()
    r = runner.invoke(app, ["compare", str(SCENARIO), "--seeds", "1", "--out", str(out),
                            "--executor", "serial", "--force"])
    assert r.exit_code == 0, r.output  # (with --force it is replaced)
    assert json.loads((out / "comparison.json").read_text())["scenarios"] == ["baseline"]


def test_a_closed_pipe_on_stdout_does_not_lose_the_comparison_files(tmp_path):
    """`corredor compare … --out DIR | head -1`: the tables were printed before the files were
    written, and rich ends the command (exit 1) at the first write to a closed pipe, so DIR was
    never written and the runs were lost. The files are now written first."""
    import os
    import subprocess
    import sys

    read, write = os.pipe()
    os.close(read)  # (what `head -1` does once it has its line)
    try:
        r = subprocess.run([sys.executable, "-m", "corredor", "compare", str(SCENARIO), "--seeds",
                            "1", "--executor", "serial", "--out", str(tmp_path / "out")],
                           stdout=write, stderr=subprocess.PIPE, text=True, timeout=300)
    finally:
        os.close(write)
    assert "Traceback" not in r.stderr, r.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "comparison.csv", "comparison.html", "comparison.json", "comparison.png"], r.stderr


def test_the_comparison_figure_draws_each_scenarios_median_and_band():
    """comparison.png: per panel (metric) one dot at each scenario's median and one bar from its
    5th to its 95th percentile, scenarios top to bottom in comparison order, the baseline's
    median as a dashed line; a metric without a value (NaN) draws nothing for that scenario."""
    from corredor.outputs.plots import comparison_figure

    names = ["baseline", "bribe-0", "peru_block=2023-03-30"]
    values = {"baseline": (10.0, 8.0, 12.0), "bribe-0": (20.0, 15.0, 30.0),
              "peru_block=2023-03-30": (float("nan"),) * 3}
    summary = [{"scenario": n, "metric": m, "median": v[0], "p05": v[1], "p95": v[2], "seeds": 7}
               for n, v in values.items() for m in ("peak_stranded", "give_ups")]
    fig = comparison_figure(summary, names, panels=("peak_stranded", "give_ups"))
    assert "over 7 seeds" in fig.get_suptitle()
    for ax in fig.axes:
        dots = [(line.get_xdata()[0], line.get_ydata()[0]) for line in ax.lines if line.get_marker() == "o"]
        bars = [(tuple(line.get_xdata()), line.get_ydata()[0]) for line in ax.lines
                if line.get_marker() in ("None", "", None) and len(line.get_xdata()) == 2
                and line.get_linestyle() == "-"]
        assert dots == [(10.0, 2), (20.0, 1)]  # (the baseline at the top; NaN: no dot)
        assert bars == [((8.0, 12.0), 2), ((15.0, 30.0), 1)]
        dashed = [line for line in ax.lines if line.get_linestyle() == "--"]
        assert len(dashed) == 1 and tuple(dashed[0].get_xdata()) == (10.0, 10.0)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == names


def test_the_comparison_figure_shows_long_sweep_names_whole():
    """Found with two sweeps: the figure's fixed left margin cut "peru_block=2023-03-30,bribe_price_usd=0"
    to "_block=2023-03-30,…". A point of several parameters is now labelled a parameter a line, and
    the figure widens so that every label lies inside it, the panels keeping their width."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from corredor.outputs.plots import comparison_figure

    names = ["baseline", "peru_block=2023-03-30,bribe_price_usd=0",
             "peru_block=2023-04-27,bribe_price_usd=55,give_up_base=0.015"]
    summary = [{"scenario": n, "metric": "peak_stranded", "median": 5.0, "p05": 4.0, "p95": 6.0, "seeds": 2}
               for n in names]
    short = comparison_figure(summary[:1], names[:1], panels=("peak_stranded",))
    fig = comparison_figure(summary, names, panels=("peak_stranded",))
    labels = fig.axes[0].get_yticklabels()
    assert [t.get_text() for t in labels] == [
        "baseline", "peru_block=2023-03-30\nbribe_price_usd=0",
        "peru_block=2023-04-27\nbribe_price_usd=55\ngive_up_base=0.015"]
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig_box = fig.bbox
    for t in labels:
        box = t.get_window_extent(renderer)
        assert box.x0 >= fig_box.x0 and box.x1 <= fig_box.x1, (t.get_text(), box, fig_box)
    panel = fig.axes[0].get_window_extent(renderer).width
    assert panel == pytest.approx(short.axes[0].get_window_extent(FigureCanvasAgg(short).get_renderer()).width)
    assert fig.get_figwidth() > short.get_figwidth()


def test_needs_metrics_are_the_sites_needs_of_each_run(tmp_path):
    """The supplies compare reports equal what a run folder's needs.csv says, summed over the
    places a planner supplies (the line and the shelters), for every seed."""
    from corredor.analysis.compare import NEEDS_METRICS
    from corredor.engine.crisis import simulate_crisis
    from corredor.outputs.runfolder import write_run_folder

    base = load_scenario(SCENARIO)
    comp = compare({"baseline": base}, seeds=2, base_seed=11)
    for k, seed in enumerate(comp.seeds):
        folder = write_run_folder(simulate_crisis(base, seed=seed), tmp_path / f"r{k}")
        with (folder / "needs.csv").open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))[1:]
        assert {r["location"] for r in rows} == {"camp", "arica_shelters"}  # not Santiago, Tacna
        days = sorted({int(r["day"]) for r in rows})

        def per_day(ind, rows=rows, days=days):
            return [sum(float(r["value"]) for r in rows if r["indicator"] == ind and int(r["day"]) == d)
                    for d in days]

        water = sum(per_day("water_l"))
        assert comp.values["baseline"]["water_l"][k] == pytest.approx(water)
        # what a WASH officer plans trucking from: the sites' water on their busiest day (l/day)
        assert comp.values["baseline"]["peak_water_l_per_day"][k] == pytest.approx(max(per_day("water_l")))
        assert max(per_day("water_l")) == 15 * max(per_day("food_rations")) > 0
        assert comp.values["baseline"]["food_rations"][k] == pytest.approx(sum(per_day("food_rations")))
        assert comp.values["baseline"]["peak_toilets"][k] == max(per_day("toilets"))
        assert comp.values["baseline"]["peak_covered_space_m2"][k] == pytest.approx(max(per_day("covered_space_m2")))
        # whole tents at each place, summed over the places: needs.csv's tents rows
        assert comp.values["baseline"]["peak_tents"][k] == max(per_day("tents")) > 0
        # the people the whole-run totals leave out: those at the sites on the run's last day
        last = [r for r in rows if int(r["day"]) == comp.stranded["baseline"].shape[1] - 1]
        left = sum(float(r["in_need"]) for r in last if r["indicator"] == "water_l")
        assert comp.values["baseline"]["people_at_sites_last_day"][k] == pytest.approx(left) and left > 0
        assert water > 0
    summary_keys = {r["metric"] for r in comp.summary()}
    assert set(NEEDS_METRICS) <= summary_keys


def test_a_camp_not_emptied_within_the_run_is_said_so(capsys):
    """The printed table said "–" both for "no camp" and for "still there at the end"; seeds
    without a value were dropped from the median without a word."""
    from corredor.analysis.compare import Comparison
    from corredor.cli import _print_comparison

    values = {name: {k: np.zeros(4) for k in ALL_METRICS} for name in ("never", "some")}
    values["never"]["days_until_camp_empties"] = np.full(4, np.nan)
    values["some"]["days_until_camp_empties"] = np.array([30.0, 32.0, np.nan, 31.0])
    comp = Comparison(["never", "some"], [1, 2, 3, 4], values, {n: np.zeros((4, 3)) for n in values})
    _print_comparison(comp)
    out = " ".join(capsys.readouterr().out.split())
    assert out.count("not within") == 2  # the "never" cell (wrapped over two lines) and the footnote
    assert "31*" in out  # the median of the three seeds whose camp emptied, marked
    assert "* some, days until nobody is stranded: in 1 of 4 seeds not within the run" in out


def test_the_whole_run_totals_say_where_they_stop_and_whom_they_leave_out(capsys):
    """Found by a planner's reading: the water and rations "whole run" totals stop at the run's
    last day (30 Jun 2023 for Chile–Peru) while hundreds are still in the Arica shelters, and
    nothing said so: the total read as the whole crisis's cost. Now the people still at the line
    and in shelters on the last day are a metric, and the line under the first table of
    whole-run totals says the day they stop at and how many are left then."""
    import datetime as dt

    from corredor.analysis.compare import NEEDS_METRICS, Comparison, whole_run_note
    from corredor.cli import _print_comparison

    assert NEEDS_METRICS["people_at_sites_last_day"] == (
        "people still at the crisis sites on the last day", "people")
    values = {name: {k: np.zeros(3) for k in ALL_METRICS} for name in ("baseline", "v")}
    values["baseline"]["people_at_sites_last_day"] = np.array([250.0, 268.0, 280.0])
    start = {n: dt.date(2023, 2, 1) for n in values}
    comp = Comparison(["baseline", "v"], [1, 2, 3], values, {n: np.zeros((3, 150)) for n in values},
                      start_dates=start)
    note = ("whole run: to 2023-06-30, the run's last day; the water and rations that the people still "
            "at the crisis sites then (baseline: 268 [252–279]) need after it are not in the totals.")
    assert comp.whole_run_note() == note == whole_run_note(  # (the one sentence the report says too)
        {"baseline": "2023-06-30", "v": "2023-06-30"}, "baseline", (268.0, 251.8, 278.8), whole=True)
    _print_comparison(comp)
    out = " ".join(capsys.readouterr().out.split())
    assert out.count(note) == 1  # (once: under the first table of whole-run totals)
    assert out.index("people, water and food at the crisis sites") < out.index(note) < out.index("shelter and toilets at the")
    values["baseline"]["people_at_sites_last_day"][:] = 0
    assert comp.whole_run_note() == ("whole run: to 2023-06-30, the run's last day; nobody is at the "
                                     "crisis sites then, in any scenario or seed.")
    comp.stranded["v"] = np.zeros((3, 120))
    assert comp.whole_run_note().startswith(
        "whole run: to each scenario's last day (baseline: 2023-06-30; v: 2023-05-31); nobody")


def test_cli_compare_warns_when_periods_differ(tmp_path):
    """Found by an error audit: scenarios of different lengths were compared silently, although
    person-days, give-ups and water are totals over each run."""
    import shutil

    short = tmp_path / "short"
    shutil.copytree(SCENARIO, short, ignore=shutil.ignore_patterns("variants", "*.py"))
    toml = short / "scenario.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("days = 150", "days = 120"), encoding="utf-8")
    r = runner.invoke(app, ["compare", str(SCENARIO), str(short), "--seeds", "1", "--executor", "serial"])
    assert r.exit_code == 0, r.output
    assert "warning: short runs 120 days from 2023-02-01, the baseline 150 days" in r.output
    r = runner.invoke(app, ["compare", str(SCENARIO), str(SCENARIO / "variants" / "bribe_0.toml"),
                            "--seeds", "1", "--executor", "serial"])
    assert r.exit_code == 0 and "warning" not in r.output


def test_cli_compare_quiet_prints_warnings_only_and_needs_out(tmp_path, monkeypatch):
    """Found by a documentation audit: docs/outputs.md sends batch jobs to `compare --quiet`,
    which was "No such option" (exit 2). Quiet: no progress lines, no tables or notes; the
    warnings still; the files written. Without --out it would keep nothing: refused."""
    import shutil

    monkeypatch.setenv("CORREDOR_PROGRESS_SECONDS", "0.000001")  # (a progress line every run)
    base, short = tmp_path / "base", tmp_path / "short"
    for folder, days in ((base, 20), (short, 15)):
        shutil.copytree(SCENARIO, folder, ignore=shutil.ignore_patterns("variants", "*.py"))
        toml = folder / "scenario.toml"
        toml.write_text(toml.read_text(encoding="utf-8").replace("days = 150", f"days = {days}"),
                        encoding="utf-8")
    args = ["compare", str(base), str(short), "--seeds", "1", "--executor", "serial"]
    r = runner.invoke(app, [*args, "--quiet", "--out", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    assert r.stdout == ""
    assert r.stderr.startswith("warning: short runs 15 days from 2023-02-01, the baseline 20 days")
    assert "seeds:" not in r.stderr and "note:" not in r.stderr
    assert (tmp_path / "c" / "comparison.csv").is_file()
    r = runner.invoke(app, [*args, "-q"])
    assert r.exit_code == 2 and "--quiet prints no tables: give --out FOLDER" in r.output
    r = runner.invoke(app, args)  # (not quiet: the progress lines, the note and the tables)
    assert r.exit_code == 0, r.output
    assert "2 scenarios × 1 seeds: 1/2" in r.stderr and "note: " in r.stderr and "baseline" in r.stdout


def test_cli_compare_warns_of_a_parameter_value_that_can_change_nothing():
    """Found by a first-time user: `--set crisis.peru_block=...` with the no-peru-closure variant
    (whose policies do not name $peru_block) gave it identical results, and a date typed
    2032-04-13 quietly gave a run with no closure; neither was said. A value inside the run, for a
    parameter the tables read, gives no warning."""
    nc = str(SCENARIO / "variants" / "no_peru_closure.toml")
    r = runner.invoke(app, ["compare", str(SCENARIO), nc, "--set", "crisis.peru_block=2023-04-20",
                            "--seeds", "1", "--executor", "serial"])
    said = " ".join(r.output.split())
    assert r.exit_code == 0, r.output
    assert ("warning: no-peru-closure: no table is written against crisis.peru_block; any value given "
            "to it changes nothing") in said
    assert "warning: baseline" not in said and said.count("warning:") == 1, said
    r = runner.invoke(app, ["compare", str(SCENARIO), "--sweep", "crisis.peru_block=2032-04-13,2022-12-01",
                            "--seeds", "1", "--executor", "serial"])
    said = " ".join(r.output.split())
    assert r.exit_code == 0, r.output
    assert ("warning: peru_block=2032-04-13: crisis.peru_block = 2032-04-13 lies after the run's last "
            "day (2023-06-30): rows dated from $peru_block do not start within the run") in said
    assert ("warning: peru_block=2022-12-01: crisis.peru_block = 2022-12-01 lies before the run's first "
            "day (2023-02-01): rows dated from $peru_block start before the run") in said


def test_comparison_csv_keeps_every_digit_as_the_json_does():
    """Found by an output audit: comparison.csv wrote figures with 6 significant digits, so a 5 %
    band of 418,129.5 l of water read 418130 beside comparison.json's 418129.5, and anything from
    10 million up came out as 1.23457e+07."""
    from corredor.analysis.compare import Comparison, comparison_csv, comparison_json, csv_number

    assert [csv_number(v) for v in (12345678.0, 418129.5, 27875.300000000003, 0.0, -0.0, 2.25, math.nan)] == \
        ["12345678", "418129.5", "27875.3", "0", "0", "2.25", ""]
    values = {"big": {k: np.array([12_345_678.0, 12_345_679.0, 12_345_681.0, 20_000_000.0]) for k in ALL_METRICS}}
    comp = Comparison(["big"], [1, 2, 3, 4], values, {"big": np.zeros((4, 3))})
    rows = list(csv.reader(comparison_csv(comp).splitlines()))[2:]
    summary = comparison_json(comp)["summary"]
    assert len(rows) == len(summary) == len(ALL_METRICS)
    for row, s in zip(rows, summary, strict=True):
        assert [float(x) for x in row[3:6]] == [s["median"], s["p05"], s["p95"]]
        assert not any("e" in x for x in row[3:6])


def test_comparison_csv_says_what_each_row_is_and_the_days_it_covers():
    """Found by a domain review: comparison.csv's `baseline,water_l,l,423472.5,…` did not say that
    it is a whole-run total (a WASH officer beside needs.csv's l/day read it as daily). Each row
    now ends with the metric's label and the days its figure covers: the whole run for totals
    and peaks, the last day for the people still there; the columns before them as they were."""
    import datetime as dt

    from corredor.analysis.compare import METRIC_LABELS, Comparison, comparison_csv

    values = {"baseline": {k: np.array([1.0, 2.0]) for k in ALL_METRICS}}
    comp = Comparison(["baseline"], [1, 2], values, {"baseline": np.zeros((2, 150))},
                      start_dates={"baseline": dt.date(2023, 2, 1)})
    rows = list(csv.DictReader(comparison_csv(comp).splitlines()))
    assert list(rows[0])[:13] == ["scenario", "metric", "unit", "median", "p05", "p95", "seeds",
                                  "seeds_without_value", "diff_median", "diff_p05", "diff_p95", "label", "period"]
    tags = rows[0]
    assert (tags["label"], tags["period"]) == ("#indicator+label", "#meta+period")  # (the HXL row)
    by = {r["metric"]: r for r in rows[1:]}
    assert by["water_l"]["label"] == "water needed at the crisis sites, whole run"
    assert by["water_l"]["unit"] == "l" and by["water_l"]["period"] == "2023-02-01/2023-06-30"
    assert by["peak_toilets"]["period"] == "2023-02-01/2023-06-30"  # (its busiest day within them)
    assert by["people_at_sites_last_day"]["period"] == "2023-06-30/2023-06-30"
    assert all(r["label"] == METRIC_LABELS[m][0] for m, r in by.items())


def test_comparison_period_is_two_hxl_dates_and_the_json_rows_are_the_csv_rows():
    """Found by an IM review: `period` ("2023-02-01/2023-06-30") was tagged `#date+period`, and
    HXL date cleaning (the HXL Proxy's) turned it into 2 January 2023, a day before the run. HXL has
    no interval: the days are now `period_start` (`#date+start`) and `period_end` (`#date+end`),
    single ISO dates; `period` stays, as `#meta+period`. comparison.json's summary rows, "the CSV's
    rows", lacked the period: they now hold the CSV's columns, key by key, value by value."""
    import datetime as dt

    from corredor.analysis.compare import Comparison, comparison_csv, comparison_json, csv_number

    values = {n: {k: np.array([1.0, 2.5, np.nan]) for k in ALL_METRICS} for n in ("baseline", "other")}
    comp = Comparison(["baseline", "other"], [1, 2, 3], values, {n: np.zeros((3, 150)) for n in values},
                      start_dates={n: dt.date(2023, 2, 1) for n in values})
    head, tags, *rows = list(csv.reader(comparison_csv(comp).splitlines()))
    at = head.index("period")
    assert head[at:at + 3] == ["period", "period_start", "period_end"]
    assert tags[at:at + 3] == ["#meta+period", "#date+start", "#date+end"]
    # (the other #date columns are single dates too: a day metric's, `median_date` …)
    assert not [t for t in tags if t.startswith("#date") and t not in ("#date+start", "#date+end", "#date+median",
                                                                      "#date+p05", "#date+p95")]
    by = {r[1]: dict(zip(head, r, strict=True)) for r in rows if r[0] == "baseline"}
    assert [by["water_l"][k] for k in ("period", "period_start", "period_end")] == \
        ["2023-02-01/2023-06-30", "2023-02-01", "2023-06-30"]
    assert [by["people_at_sites_last_day"][k] for k in ("period_start", "period_end")] == ["2023-06-30"] * 2
    for r in rows:  # each a single date, as pandas and spreadsheets read one
        row = dict(zip(head, r, strict=True))
        assert [dt.date.fromisoformat(row[k]) for k in ("period_start", "period_end")]
    summary = comparison_json(comp)["summary"]
    assert len(summary) == len(rows)
    for s, r in zip(summary, rows, strict=True):
        assert sorted(s) == sorted(head)  # (the same keys)
        assert {k: (v if isinstance(v, str) else str(v).lower() if isinstance(v, bool)
                    else csv_number(v) if v is not None else "")
                for k, v in s.items()} == dict(zip(head, r, strict=True))
    # a comparison whose start is not known: empty days in both
    comp.start_dates = {}
    assert {(s["period"], s["period_start"], s["period_end"]) for s in comparison_json(comp)["summary"]} == {("", "", "")}


def test_headings_name_a_unit_once(small_comparison):
    """A heading states its unit, but not twice: "stranded person-days", not "… (person-days)"."""
    from corredor.analysis.compare import heading
    from corredor.outputs.report.comparison_section import comparison_rows

    assert heading("stranded_person_days") == "stranded person-days"
    assert heading("peak_stranded") == "peak stranded (people)"
    assert heading("money_paid_usd", "\n") == "money paid\n(USD)"
    row = comparison_rows({"summary": small_comparison.summary()})[0]
    assert row["variant"] == "baseline"
    assert set(row) - {"variant"} == {heading(k) for k in ALL_METRICS}
    # (not twice: a label that says person-days gets no "(person-days)" after it)
    assert not [h for h in row if h.endswith("(person-days)") and "person-days" in h[:-len("(person-days)")]]


def test_report_of_a_comparison_json_heads_its_columns_as_the_main_job_does(small_comparison):
    """Found by review: `corredor report RUN --comparison comparison.json` headed its columns
    "stranded person-days (person-days)" and "covered space … (m2)" from the file's label and unit,
    where the main job's report (and the CLI) say "stranded person-days" and "m²" (compare.heading).
    The file's table is now the main job's, heading for heading and cell for cell."""
    from corredor.analysis.compare import comparison_json
    from corredor.outputs.report.comparison_section import comparison_rows

    rows = comparison_rows(json.loads(json.dumps(comparison_json(small_comparison))))
    assert rows == comparison_rows({"summary": small_comparison.summary()})  # (the main job's)
    columns = set(rows[0]) - {"variant"}
    assert "stranded person-days" in columns and "covered space needed on the busiest day (m²)" in columns
    assert not [c for c in columns if c.endswith("(m2)")
                or (c.endswith("(person-days)") and "person-days" in c[:-len("(person-days)")])]


def test_printed_figures_are_never_cut(capsys):
    """Found with a --sweep: beside a long scenario name a band was cut to "[197,660–210,…"; a
    long name now folds and every figure is printed whole."""
    from corredor.analysis.compare import Comparison
    from corredor.cli import _print_comparison

    names = ["baseline", "bribe_price_usd=100,mil_emergency=0.9,give_up_base=0.015"]
    values = {n: {k: np.array([197_660.0, 203_100.0, 210_060.0, 12_345_678.0]) for k in ALL_METRICS}
              for n in names}
    comp = Comparison(names, [1, 2, 3, 4], values, {n: np.zeros((4, 3)) for n in names})
    _print_comparison(comp)
    out = capsys.readouterr().out
    assert "…" not in out
    # every cell, and the whole-run note's band of the baseline's people left on the last day (a
    # share, in %, with its decimal)
    shares = [k for k, (_, unit) in ALL_METRICS.items() if unit == "%"]
    assert out.count("[198,476–10,525,335]") == 2 * (len(ALL_METRICS) - len(shares)) + 1
    assert out.count("[198,476–10,525,335.3]") == 2 * len(shares)  # (its differences: 0)


def test_a_sweep_point_of_several_parameters_prints_a_parameter_a_line_never_cut(capsys):
    """Found with a date sweep: in a file or a pipe the name column was squeezed to make room for
    the headings, printing "peru_block=2023-03-" / "30"; a point of several parameters now shows
    one `key=value` a line, whole, and no table line is cropped at the console's width."""
    from corredor.analysis.compare import Comparison
    from corredor.cli import _print_comparison

    names = ["baseline", "peru_block=2023-03-30,bribe_price_usd=55", "peru_block=2023-04-27,bribe_price_usd=0"]
    values = {n: {k: np.array([1.0, 2.0]) for k in ALL_METRICS} for n in names}
    _print_comparison(Comparison(names, [1, 2], values, {n: np.zeros((2, 3)) for n in names}))
    out = capsys.readouterr().out
    cells = [line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│")]
    for part in ("peru_block=2023-03-30", "bribe_price_usd=55", "peru_block=2023-04-27", "bribe_price_usd=0"):
        assert part in cells, (part, cells)
    table_lines = [line for line in out.splitlines() if line[:1] in "┏┃┡│└"]
    assert all(line[-1] in "┓┃┩│┘" for line in table_lines), out


def test_every_swept_date_outside_the_run_is_warned_of_the_files_own_too(tmp_path):
    """Found by a user's acceptance pass: with `--days 30` (to 2 March) a sweep of peru_block
    over 13 and 20 April warned of 20 April only; 13 April, the file's own value, lies after the
    run as much, and its point was the same run as the other. Every swept value outside the run
    is warned of now, and so is a `--set` one."""
    sweep = ["--sweep", "crisis.peru_block=2023-04-13,2023-04-20"]
    r = runner.invoke(app, ["ensemble", str(SCENARIO), "--replicas", "1", "--days", "30", "--executor",
                            "serial", "--no-plot", "-q", "--out", str(tmp_path / "e"), *sweep])
    said = " ".join(r.output.split())
    assert r.exit_code == 0, r.output
    for day in ("2023-04-13", "2023-04-20"):
        assert (f"warning: peru_block={day}: crisis.peru_block = {day} lies after the run's last "
                "day (2023-03-02): rows dated from $peru_block do not start within the run") in said, said
    assert said.count("warning: peru_block=") == 2, said  # (once each; one replica's own warning aside)
    r = runner.invoke(app, ["ensemble", str(SCENARIO), "--replicas", "1", "--days", "30", "--executor",
                            "serial", "--no-plot", "-q", "--out", str(tmp_path / "e2"),
                            "--set", "crisis.peru_block=2023-04-13"])
    said = " ".join(r.output.split())
    assert r.exit_code == 0, r.output
    assert "crisis.peru_block = 2023-04-13 lies after the run's last day (2023-03-02)" in said, said


def test_cli_compare_sweeps_the_day_peru_closes(tmp_path):
    """"If Peru closes the crossing on day X": `--sweep crisis.peru_block=DATES` (a date parameter of
    policies.csv). Two weeks earlier more people are stranded at the peak and for more
    person-days, on every seed (common seeds; the baseline's 5-95 % band is about ±4 %, the
    difference about +35 %). (At its own value, 13 Apr, a point is the baseline:
    `test_a_sweep_point_that_is_the_baseline_runs_once_as_its_row`.)"""
    r = runner.invoke(app, ["compare", str(SCENARIO), "--sweep", "crisis.peru_block=2023-03-30",
                            "--seeds", "6", "--executor", "serial", "--out", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    data = json.loads((tmp_path / "c" / "comparison.json").read_text(encoding="utf-8"))
    assert data["scenarios"] == ["peru_block=2023-04-13 (baseline)", "peru_block=2023-03-30"]
    per_seed = data["per_seed"]
    for metric in ("peak_stranded", "stranded_person_days", "water_l"):
        early, base = per_seed["peru_block=2023-03-30"][metric], per_seed["peru_block=2023-04-13 (baseline)"][metric]
        assert all(e > 1.15 * b for e, b in zip(early, base, strict=True)), (metric, early, base)


def test_cli_ensemble_table_folds_long_variant_names_instead_of_cutting_them(tmp_path):
    """Found with a date sweep: the ensemble's table printed both points as
    "crisis.peru_block=2023-04…", the one part that told them apart cut off. (Points are named
    without `crisis.` now, as compare names them.)"""
    r = runner.invoke(app, ["ensemble", str(SCENARIO), "--replicas", "1", "--executor", "serial",
                            "--sweep", "crisis.peru_block=2023-04-06,2023-04-20", "--out", str(tmp_path / "e"),
                            "--no-plot"], env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    table = r.output[:r.output.index("└")]  # (the first table: the differences' follows it)
    first_column = "".join(line.split("│")[1].strip() for line in table.splitlines() if line.startswith("│"))
    assert first_column == "peru_block=2023-04-06peru_block=2023-04-20", r.output
    assert "…" not in r.output


def test_a_date_sweep_that_makes_a_gap_or_an_overlap_in_policies_is_warned_of(tmp_path):
    """The reader checks a policies file's rows at its own dates; a sweep of a date parameter may
    open a gap (the crossing open to everyone) or make rows overlap: each such point says so, and
    the sweep at the file's own value, whose rows the reader checked, does not."""
    import shutil

    folder = tmp_path / "s"
    shutil.copytree(SCENARIO, folder)
    pol = folder / "policies.csv"
    pol.write_text(pol.read_text(encoding="utf-8").replace(
        "pe_santa_rosa,$peru_block+74,2023-06-30,", "pe_santa_rosa,2023-06-26,2023-06-30,"), encoding="utf-8")
    for command in ("compare", "ensemble"):
        extra = (["--seeds", "1"] if command == "compare" else
                 ["--replicas", "1", "--no-plot", "--out", str(tmp_path / "e")])
        r = runner.invoke(app, [command, str(folder), "--executor", "serial", *extra,
                                "--sweep", "crisis.peru_block=2023-04-06,2023-04-13,2023-04-20"])
        assert r.exit_code == 0, r.output
        said = [line for line in " ".join(r.output.split()).split("warning: ")[1:]
                if line.startswith("peru_block=")]  # (not one replica's own warning)
        assert len(said) == 2, r.output
        assert "peru_block=2023-04-06: " in said[0] and "policies.csv:7: no row of pe_santa_rosa covers " \
            "2023-06-19 to 2023-06-25: the crossing is open to everyone" in said[0]
        assert "peru_block=2023-04-20: " in said[1] and "policies.csv:7: overlaps the row on line 6 " \
            "(pe_santa_rosa, 2023-06-26 to 2023-06-30)" in said[1]


def test_cli_ensemble_table_shows_a_sweep_point_a_parameter_a_line(tmp_path):
    """A point of two sweeps was folded at the column's width ("crisis.peru_block=2023-03-" /
    "30,crisis.bribe_price_usd=" / "0"); now each parameter is a line of its own, whole, and no
    line of the table is cropped at the width of a pipe."""
    r = runner.invoke(app, ["ensemble", str(SCENARIO), "--replicas", "1", "--executor", "serial",
                            "--sweep", "crisis.peru_block=2023-04-06", "--sweep", "crisis.bribe_price_usd=0,55",
                            "--out", str(tmp_path / "e"), "--no-plot"], env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    table = r.output[:r.output.index("└")]  # (the first table: the differences' follows it)
    cells = [line.split("│")[1].strip() for line in table.splitlines() if line.startswith("│")]
    # (a price of 0 is no paid passage, and says so: `native_crisis.zero_meaning`)
    assert [c for c in cells if c] == ["peru_block=2023-04-06", "bribe_price_usd=0 (no paid passage)",
                                       "peru_block=2023-04-06", "bribe_price_usd=55"], r.output
    assert all(line[-1] in "┓┃┩│┤┘" for line in r.output.splitlines() if line[:1] in "┏┃┡│├└"), r.output


def test_a_parameter_no_table_uses_is_warned_of_where_it_is_set_or_swept(tmp_path):
    """no_peru_closure replaces the policies written against `peru_block` but keeps the parameter:
    a sweep of it from that variant ran the same scenario once per value, silently, and a --set
    of it changed nothing there. Each now says so (and the runs are indeed the same); the
    baseline, whose policies use it, gets no such warning."""
    variant = SCENARIO / "variants" / "no_peru_closure.toml"

    def warnings(args: list[str]) -> list[str]:
        r = runner.invoke(app, [*args, "--executor", "serial"])
        assert r.exit_code == 0, r.output
        return [w for w in " ".join(r.output.split()).split("warning: ")[1:] if "no table" in w]

    sweep = ["--sweep", "crisis.peru_block=2023-04-06,2023-04-20"]
    said = warnings(["compare", str(variant), "--seeds", "2", *sweep, "--out", str(tmp_path / "c")])
    assert len(said) == 1 and said[0].startswith(
        f"every --sweep point of {variant}: no table is written against crisis.peru_block; any value "
        "given to it changes nothing"), said
    per_seed = json.loads((tmp_path / "c" / "comparison.json").read_text(encoding="utf-8"))["per_seed"]
    assert per_seed["peru_block=2023-04-06"] == per_seed["peru_block=2023-04-20"] == \
        per_seed["peru_block=2023-04-13 (baseline)"]
    said = warnings(["compare", str(SCENARIO), str(variant), "--seeds", "1", "--set", "crisis.peru_block=2023-04-06"])
    assert len(said) == 1 and said[0].startswith("no-peru-closure: no table is written against "
                                                 "crisis.peru_block; any value given to it changes nothing"), said
    said = warnings(["ensemble", str(variant), "--replicas", "1", "--no-plot", "--out", str(tmp_path / "e"), *sweep])
    assert len(said) == 1 and ": no table is written against crisis.peru_block; any value given to it" in said[0], said
    assert warnings(["compare", str(SCENARIO), "--seeds", "1", *sweep]) == []
    assert warnings(["ensemble", str(SCENARIO), "--replicas", "1", "--no-plot", "--out", str(tmp_path / "e2"),
                     *sweep, "--set", "crisis.bribe_price_usd=40"]) == []


def test_differences_from_the_baseline_are_paired_by_seed(capsys):
    """Every scenario runs the same seeds, so the policy's effect is the difference on each seed:
    summary rows hold its median and 5–95 % band (`diff_*`), seeds without a value on either side
    left out, NaN for the baseline itself; comparison.csv and .json carry them, and compare prints
    them in a table of their own (not for the baseline, not when it is alone)."""
    from corredor.analysis.compare import Comparison, comparison_csv, comparison_json
    from corredor.cli import _print_comparison

    rng = np.random.default_rng(3)
    base = rng.normal(500, 50, 40)  # (a seed's noise, shared by both scenarios)
    policy = base - 200 + rng.normal(0, 5, 40)
    values = {"baseline": {k: base.copy() for k in ALL_METRICS}, "policy": {k: policy.copy() for k in ALL_METRICS}}
    values["policy"]["days_until_camp_empties"][:4] = np.nan
    values["policy"]["people_at_sites_last_day"] = base - 57  # (the same difference on every seed)
    values["policy"]["peak_tents"] = base + 31
    comp = Comparison(["baseline", "policy"], list(range(40)), values, {n: np.zeros((40, 3)) for n in values})
    rows = {(r["scenario"], r["metric"]): r for r in comp.summary()}
    d = policy - base
    r = rows["policy", "peak_stranded"]
    assert [r["diff_p05"], r["diff_median"], r["diff_p95"]] == pytest.approx(np.quantile(d, [0.05, 0.5, 0.95]))
    assert r["diff_p95"] - r["diff_p05"] < 0.2 * (r["p95"] - r["p05"])  # (paired: far narrower)
    assert rows["policy", "days_until_camp_empties"]["diff_median"] == pytest.approx(np.median(d[4:]))
    assert all(math.isnan(rows["baseline", k][f"diff_{q}"]) for k in ALL_METRICS for q in ("median", "p05", "p95"))
    csv = comparison_csv(comp).split("\r\n")
    # (then the columns added since: the scenario's readable name, whether within chance, dates)
    assert ",diff_median,diff_p05,diff_p95,label,period,period_start,period_end,scenario_label,diff_within_chance," in csv[0]
    assert (",#indicator+value+diff+p95,#indicator+label,#meta+period,#date+start,#date+end,"
            "#meta+scenario+label,#meta+diff+chance," in csv[1])
    assert csv[2].startswith("baseline,peak_stranded,") and csv[2].endswith(",,,peak stranded,,,,baseline,,,,")  # (no dates)
    row = next(line for line in csv if line.startswith("policy,peak_stranded,")).split(",")
    assert float(row[8]) == pytest.approx(np.median(d), abs=1e-6)
    summary = comparison_json(comp)["summary"]
    assert summary[0]["diff_median"] is None and summary[len(ALL_METRICS)]["diff_median"] == pytest.approx(np.median(d))
    _print_comparison(comp)
    out = capsys.readouterr().out
    assert "difference from the baseline, seed by seed: median [5–95 %] over 40 seeds" in out
    table = out[out.index("difference from the baseline"):]
    assert f"{np.median(d):+,.0f}".replace("-", "−") in table and "│ baseline " not in table  # (no own row)
    # the people still at the sites and the tents too, in a second table (eight columns in one
    # were 158 wide): each fits 130 columns
    sites = table[table.index("difference from the baseline at the crisis sites (Sphere), seed by seed: "
                              "median [5–95 %] over 40 seeds"):]
    assert "−57" in sites and "[−57 – −57]" in sites and "+31" in sites and "[+31 – +31]" in sites
    assert "−57" not in table[:len(table) - len(sites)]
    assert max(len(line) for line in table.splitlines()) <= 130
    alone = Comparison(["baseline"], [1], {"baseline": {k: np.ones(1) for k in ALL_METRICS}}, {"baseline": np.zeros((1, 3))})
    _print_comparison(alone)
    assert "difference from the baseline" not in capsys.readouterr().out


def test_every_heading_shown_alone_says_where():
    """Found by a planner's audit of `compare --sweep crisis.peru_block=…`: the difference table,
    comparison.png and comparison.json headed the water and rations columns "water needed there,
    whole run" with no "there" beside them (the supplies table's "peak people at the line and in
    shelters" column is in neither the difference table nor the figure)."""
    from corredor.analysis.compare import DIFF_METRICS, NEEDS_METRICS, heading
    from corredor.outputs.plots import COMPARISON_PANELS

    shown_alone = set(DIFF_METRICS) | set(COMPARISON_PANELS)
    for key in shown_alone & set(NEEDS_METRICS):
        words = heading(key).replace(",", " ").split()
        assert "there" not in words, heading(key)
        # (where, in words that fit any crisis: "the line" was Chile–Peru's Concordia camp)
        assert "crisis" in words and "sites" in words and "line" not in words, heading(key)


def test_the_comparison_figures_panel_titles_do_not_run_into_each_other():
    """The sites named in full make the water panel's title long: it is folded at its spaces so
    that no title reaches its neighbour's, every one inside the figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from corredor.outputs.plots import COMPARISON_PANELS, comparison_figure

    names = ["baseline", "peru_block=2023-03-30"]
    summary = [{"scenario": n, "metric": m, "median": 5.0, "p05": 4.0, "p95": 6.0, "seeds": 2}
               for n in names for m in COMPARISON_PANELS]
    fig = comparison_figure(summary, names)
    renderer = FigureCanvasAgg(fig).get_renderer()
    boxes = [ax.title.get_window_extent(renderer) for ax in fig.axes]
    assert len(boxes) == len(COMPARISON_PANELS)
    for left, right in zip(boxes, boxes[1:], strict=False):
        assert left.x1 < right.x0, (left, right)
    for box in boxes:
        assert box.x0 >= fig.bbox.x0 and box.x1 <= fig.bbox.x1 and box.y1 <= fig.bbox.y1
    water = fig.axes[COMPARISON_PANELS.index("water_l")].get_title()
    assert water.replace("\n", " ") == "water needed at the crisis sites, whole run (litres)"


def test_a_sweep_says_the_baselines_own_values(tmp_path):
    """Found by a planner's audit of `compare --sweep crisis.peru_block=…`: the first row was
    "baseline" and nothing said on which day it closes (13 April: the same figures as the
    `peru_block=2023-04-13` row, which a reader had to notice). The CLI says it above the tables
    and comparison.json's description of the baseline ends with it. Its numbers and the sweep's
    names are written alike (`value_text`): a price typed 55.0 names its row "55", not "55.0"."""
    r = runner.invoke(app, ["compare", str(SCENARIO), "--sweep", "crisis.peru_block=2023-04-20",
                            "--sweep", "crisis.bribe_price_usd=55.0", "--seeds", "1", "--executor", "serial",
                            "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    said = f"baseline ({SCENARIO}) as written: peru_block=2023-04-13, bribe_price_usd=100"
    text = " ".join(r.output.split())
    assert said in text and text.index(said) < text.index("policy comparison"), r.output
    data = json.loads((tmp_path / "out" / "comparison.json").read_text(encoding="utf-8"))
    assert data["scenarios"] == ["baseline", "peru_block=2023-04-20,bribe_price_usd=55"]
    assert data["descriptions"]["baseline"].startswith("People leaving Chile")
    assert data["descriptions"]["baseline"].endswith("(as written: peru_block=2023-04-13, bribe_price_usd=100)")
    assert data["descriptions"]["peru_block=2023-04-20,bribe_price_usd=55"] == (
        f"the baseline ({SCENARIO}) with peru_block=2023-04-20,bribe_price_usd=55")
    # a column per swept key, the baseline's filled with its own values (finding 8 of a policy
    # analyst's review: the values were only inside the names, a two-way pivot had a hole)
    assert data["sweep_keys"] == ["peru_block", "bribe_price_usd"]
    assert {(r["scenario"], r["peru_block"], r["bribe_price_usd"]) for r in data["summary"]} == {
        ("baseline", "2023-04-13", 100), ("peru_block=2023-04-20,bribe_price_usd=55", "2023-04-20", 55)}
    with open(tmp_path / "out" / "comparison.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))[1:]
    assert {(r["scenario"], r["peru_block"], r["bribe_price_usd"]) for r in rows} == {
        ("baseline", "2023-04-13", "100"), ("peru_block=2023-04-20,bribe_price_usd=55", "2023-04-20", "55")}


def test_a_sweep_point_that_is_the_baseline_runs_once_as_its_row(tmp_path):
    """Found by a user's acceptance pass: `compare --sweep crisis.peru_block=2023-03-30..2023-04-27/7`
    (docs/chile-peru-2023.md's command) ran the baseline twice, as "baseline" and as
    "peru_block=2023-04-13", identical in every cell (a row of zeros among the differences) and
    a sixth of the runs. A point whose every value is the baseline's as written (100 is the
    file's 100.0) is not run again: its row is the baseline's, which the line above the tables
    names, and a note on stderr says so. The tables, comparison.csv and comparison.json agree."""
    r = runner.invoke(app, ["compare", str(SCENARIO), "--sweep", "crisis.peru_block=2023-04-13,2023-04-20",
                            "--sweep", "crisis.bribe_price_usd=100", "--seeds", "1", "--executor", "serial",
                            "--out", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    point = "peru_block=2023-04-13,bribe_price_usd=100"
    said = " ".join(r.stderr.split())
    assert f'note: the sweep\'s {point} is the baseline as written: it runs once, as the row "baseline"' in said
    text = " ".join(r.stdout.split())
    assert (f"baseline ({SCENARIO}) as written: peru_block=2023-04-13, bribe_price_usd=100 (the sweep's "
            f"{point}, run once)") in text, r.stdout
    assert "2023-04-13" not in text.split("policy comparison", 1)[1], r.stdout  # (no row of its own)
    data = json.loads((tmp_path / "c" / "comparison.json").read_text(encoding="utf-8"))
    assert data["scenarios"] == ["baseline", "peru_block=2023-04-20,bribe_price_usd=100"]
    with open(tmp_path / "c" / "comparison.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))[1:]  # (after the HXL row)
    assert {row["scenario"] for row in rows} == set(data["scenarios"])
    later = [row for row in rows if row["scenario"] != "baseline" and row["metric"] == "peak_stranded"]
    assert len(later) == 1 and float(later[0]["diff_median"]) < 0, later
    from corredor.mainjob import closure_day_scenarios  # (the main job's closing days: the same)

    assert list(closure_day_scenarios(load_scenario(SCENARIO), (-7, 0, 7))) == [
        "peru_block=2023-04-06", "peru_block=2023-04-20"]


def test_a_name_given_twice_gets_calibrates_suffix_and_a_variant_may_not_be_called_baseline(tmp_path):
    """Found by a user's acceptance pass: the same variant given twice became "bribe-55'", and a
    variant named "baseline" became "baseline'", silently, in the tables and comparison files.
    A name given twice now gets `-2`, `-3` (as calibrate names its cases) with a note on stderr;
    a folder named baseline too; a variant file that calls itself "baseline" (compare's name for
    the scenario the others are compared with) is refused, exit 2, at its name, before any run."""
    import shutil

    bribe55 = str(SCENARIO / "variants" / "bribe_55.toml")
    folder = tmp_path / "baseline"  # (a scenario folder, not a variant file: renamed)
    shutil.copytree(SCENARIO, folder, ignore=shutil.ignore_patterns("variants", "*.py", "*.json"))
    r = runner.invoke(app, ["compare", str(SCENARIO), bribe55, bribe55, str(folder), "--seeds", "1",
                            "--executor", "serial", "--out", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    said = " ".join(r.stderr.split())
    assert (f'note: {bribe55} is named "bribe-55", as an earlier scenario compared is; its rows are named '
            '"bribe-55-2"') in said, said
    assert (f'note: {folder} is named "baseline", as an earlier scenario compared is; its rows are named '
            '"baseline-2"') in said, said
    assert "bribe-55'" not in r.stdout and "baseline'" not in r.stdout, r.stdout
    data = json.loads((tmp_path / "c" / "comparison.json").read_text(encoding="utf-8"))
    assert data["scenarios"] == ["baseline", "bribe-55", "bribe-55-2", "baseline-2"]
    assert data["per_seed"]["bribe-55-2"] == data["per_seed"]["bribe-55"]

    named = tmp_path / "v" / "named.toml"
    named.parent.mkdir()
    named.write_text(f'# a variant\n[variant]\nbase = "{SCENARIO}"\n  name = "baseline"\n\n'
                     '[crisis.parameters]\nbribe_price_usd = 55.0\n', encoding="utf-8")
    unnamed = tmp_path / "v" / "baseline.toml"
    unnamed.write_text(f'[variant]\nbase = "{SCENARIO}"\n', encoding="utf-8")
    for path, where, by in [(named, "4:3", "its [variant] name"),
                            (unnamed, "1:1", "its file's name (it has no [variant] name)")]:
        r = runner.invoke(app, ["compare", str(SCENARIO), str(path), "--seeds", "1", "--executor", "serial"])
        said = " ".join(r.output.split())
        assert r.exit_code == 2, r.output
        assert (f'{path}:{where}: the variant is named "baseline" by {by}, which compare gives its first '
                "scenario, the one the variants are compared with; expected another name") in said, said
        assert "policy comparison" not in said


def _page_text(folder: Path) -> str:
    import html

    return html.unescape(" ".join((folder / "report.html").read_text(encoding="utf-8").split()))


def test_a_report_shows_a_comparison_of_its_own_scenario_and_refuses_anothers(small_comparison, tmp_path):
    """Found by a user acceptance pass: `corredor report RUN --comparison comparison.json` put a
    Chile–Peru policy table into a mali2012 run's page, exit 0, and under it "totals to
    2012-12-24, the run's last day" (Mali's); a 100-day Chile–Peru run's page gave its own last
    day for the comparison's 150-day totals. comparison.json now names its scenarios
    (`scenario_identity`), checked against the run's manifest.json: a run of one of them as
    compared is shown as is; the same scenario over another period is shown with both periods
    said, the totals' end always the comparison's; another scenario's is refused (exit 2, both
    named) unless --other-scenario, then marked; a file without the field is shown, with a note."""
    import shutil

    write_comparison(small_comparison, tmp_path / "cmp")
    path = tmp_path / "cmp" / "comparison.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    ids = data["scenario_identity"]
    assert list(ids) == data["scenarios"]
    assert ids["baseline"]["name"] == "chile-peru-2023" and ids["bribe-55"]["name"] == "chile-peru-2023+bribe-55"
    assert ids["baseline"]["sha256"] != ids["bribe-55"]["sha256"]

    def run(*args: str) -> Path:
        out = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
        r = runner.invoke(app, ["run", *args, "--out", str(out), "-q"])
        assert r.exit_code == 0, r.output
        return out

    def report(folder: Path, *extra: str, comparison: Path = path):
        return runner.invoke(app, ["report", str(folder), "--comparison", str(comparison), *extra])

    # the variant as compared: its run's manifest holds the hash comparison.json has for it
    variant = run(str(SCENARIO / "variants" / "bribe_55.toml"))
    manifest = json.loads((variant / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["scenario"]["sha256"] == ids["bribe-55"]["sha256"]
    r = report(variant)
    assert r.exit_code == 0 and "note:" not in r.stderr and "warning:" not in r.stderr, r.output
    text = _page_text(variant)
    assert 'class="caution' not in text and "whole run: to 2023-06-30, the run's last day;" in text

    # the baseline for 100 of its 150 days: shown (a comparison shared on purpose), both periods said
    short = run(str(SCENARIO), "--days", "100")
    r = report(short)
    assert r.exit_code == 0, r.output
    said = " ".join(r.stderr.split())
    assert said.startswith("note: This run (chile-peru-2023) is not one of the compared scenarios as they ran.")
    assert ("The compared runs cover 2023-02-01 to 2023-06-30, this run 2023-02-01 to 2023-05-11: the "
            "table's figures are of their period, not this run's.") in said
    text = _page_text(short)
    assert '<p class="caution">This run (chile-peru-2023) is not one of the compared scenarios' in text
    # (the totals' end is the comparison's, never the page's run's 2023-05-11)
    assert "whole run: to 2023-06-30, the compared runs' last day;" in text and "2023-05-11, the run" not in text

    # another scenario's run (a mali2012 run folder): refused, both named, nothing written
    other = tmp_path / "mali"
    shutil.copytree(variant, other)
    (other / "report.html").unlink()
    manifest["scenario"] = {"name": "mali2012", "sha256": "0" * 64, "source": "data/flee/mali2012"}
    (other / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    r = report(other)
    assert r.exit_code == 2 and "Traceback" not in r.output
    said = " ".join(r.stderr.split())
    assert said == (f"error: {path}: compares another scenario: chile-peru-2023 ({ids['baseline']['source']}), "
                    "not this run's mali2012 (data/flee/mali2012); a report shows the comparison of its own "
                    "scenario (use --other-scenario to show it anyway, marked as another scenario's); "
                    "nothing was written")
    assert not (other / "report.html").exists()
    # the same file in the run folder, read without --comparison: refused too, naming it
    shutil.copy(path, other / "comparison.json")
    r = runner.invoke(app, ["report", str(other)])
    assert r.exit_code == 2 and f"error: {other / 'comparison.json'}: compares another scenario" in r.stderr
    (other / "comparison.json").unlink()
    # asked for: shown, marked on the page and warned of
    r = report(other, "--other-scenario")
    assert r.exit_code == 0, r.output
    assert " ".join(r.stderr.split()).startswith("warning: Another scenario's comparison: chile-peru-2023 (")
    text = _page_text(other)
    assert ('<p class="caution other">Another scenario\'s comparison: chile-peru-2023' in text
            and "not this run's mali2012 (data/flee/mali2012). Its figures say nothing of the run this page shows."
            in text)

    # a comparison.json written before it named its scenarios: shown, with a note to check it
    del data["scenario_identity"]
    older = tmp_path / "older.json"
    older.write_text(json.dumps(data), encoding="utf-8")
    for folder in (other, short):
        r = report(folder, comparison=older)
        assert r.exit_code == 0, r.output
        assert " ".join(r.stderr.split()).startswith(
            "note: Not checked: this comparison.json does not say which scenario it compares")
    assert "whole run: to 2023-06-30, the compared runs' last day;" in _page_text(short)


def _cli_row_lines(out: str) -> list[list[list[list[str]]]]:
    """The tables `corredor compare` prints, each as rows, each row as its printed lines of cells
    (headings left out): a row starts at a line whose first figure is one, not a band ("[…")
    nor empty; its name may take more lines than its cells (a long label wraps)."""
    tables: list[list[list[list[str]]]] = []
    rows: list[list[list[str]]] | None = None
    for line in out.splitlines():
        if line.startswith("┡"):  # (the rule under the headings: the body follows)
            rows = []
            tables.append(rows)
        elif line.startswith("└"):
            rows = None
        elif rows is not None and line.startswith("│"):
            cells = [c.strip() for c in line.split("│")[1:-1]]
            if not rows or (cells[1] and not cells[1].startswith("[")):
                rows.append([cells])
            else:  # (a cell's second line, its band; or more of a long name)
                rows[-1].append(cells)
    return tables


def _cli_tables(out: str) -> list[list[list[str]]]:
    """The tables `corredor compare` prints, each as rows of cells, a cell's lines joined by a
    space ("930 [905–941]", a name wrapped over lines whole again), headings left out."""
    return [[[" ".join(c for c in column if c) for column in zip(*lines, strict=True)] for lines in rows]
            for rows in _cli_row_lines(out)]


def test_the_same_comparison_reads_cell_for_cell_alike_in_the_cli_and_the_report(small_comparison, tmp_path,
                                                                                    capsys):
    """Found by a user acceptance pass: the CLI wrote "930 [905–941]", "[154–165]" tents and
    "[25–26]" toilets where the page wrote "930.5 [905.1–941.4]", "[154.2–164.7]" and "[25–25.9]"
    for the same comparison.json. A count's figures are whole numbers on both (one rule,
    `formatting.count_text`); here every cell of the CLI's tables is the page's, the
    differences' too."""
    import html
    import re

    from corredor.analysis.compare import DIFF_TABLES, METRIC_TABLES, comparison_json
    from corredor.cli import _print_comparison
    from corredor.outputs.report import build_report

    data = json.loads(json.dumps(comparison_json(small_comparison)))
    # (the comparison has figures that are not whole, as 3 seeds' 5–95 % bands are)
    assert any(not float(r[k]).is_integer() for r in data["summary"] for k in ("p05", "p95") if r[k] is not None)
    from synthetic_results import crisis_like
    from test_report import make_run_folder

    folder = make_run_folder(crisis_like(n_days=10), tmp_path / "run")
    page = (build_report(folder, comparison=data)).read_text(encoding="utf-8")
    section = page[page.index('<section id="comparison">'):page.index("</section>", page.index('id="comparison"'))]

    def page_rows(table: str) -> dict[str, list[str]]:
        rows = {}
        for name, cells in re.findall(r'<tr><th scope="row">([^<]*)</th>(.*?)</tr>', table):
            rows[html.unescape(name)] = [" ".join(re.sub(r"<[^>]+>", "", c).split())
                                         for c in re.findall(r"<td>(.*?)</td>", cells)]
        return rows

    main, diffs = section.split('id="differences"')
    shown, differences = page_rows(main), page_rows(diffs)
    columns = [k for _, keys in METRIC_TABLES for k in keys]
    diff_columns = [k for _, keys in DIFF_TABLES for k in keys]
    _print_comparison(small_comparison)
    tables = _cli_tables(capsys.readouterr().out)
    assert len(tables) == len(METRIC_TABLES) + len(DIFF_TABLES)
    checked = 0
    for i, ((_, keys), table) in enumerate(zip(METRIC_TABLES + DIFF_TABLES, tables, strict=True)):
        diff = i >= len(METRIC_TABLES)  # (the differences from the baseline, seed by seed)
        for name, *cells in table:
            label = data["labels"].get(name, name)  # (the page's readable name, where it has one)
            for key, cell in zip(keys, cells, strict=True):
                expected = (differences[label][diff_columns.index(key)] if diff
                            else shown[label][columns.index(key)])
                assert cell == expected, (name, key)
                checked += 1
    assert checked == 3 * len(columns) + 2 * len(diff_columns)
    counts = [" ".join(c for key, c in zip(("", *keys), r, strict=True) if key not in ALL_METRICS
                       or ALL_METRICS[key][1] != "%")  # (a share: one decimal)
              for (_, keys), t in zip(METRIC_TABLES + DIFF_TABLES, tables, strict=True) for r in t]
    assert not re.search(r"\d\.\d", " ".join(counts))  # (no decimals: counts)


def test_a_broken_scenario_among_several_is_named(tmp_path: Path) -> None:
    """Found by an operations review: `compare A B` printed `groups.csv:1:1: empty file` (the
    path relative to the scenario folder) and did not say whether A or B was broken; the summary
    line now names the scenario's folder."""
    import shutil

    from typer.testing import CliRunner

    from corredor.cli import app

    chile = Path(__file__).resolve().parents[1] / "scenarios" / "chile-peru-2023"
    good, bad = tmp_path / "a", tmp_path / "b"
    shutil.copytree(chile, good)
    shutil.copytree(chile, bad)
    (bad / "groups.csv").write_text("")
    r = CliRunner().invoke(app, ["compare", str(good), str(bad), "--seeds", "1", "--out", str(tmp_path / "o")])
    assert r.exit_code == 2
    text = " ".join(r.output.split())
    assert "groups.csv:1:1: empty file" in text
    assert f"1 problem found in the scenario {bad.as_posix()} (paths relative to it); nothing was run" in text
    assert not (tmp_path / "o").exists()


def _waited_run(hist: list[list[int]]) -> xr.Dataset:
    """A run of len(hist) days whose stranded, day by day, are `hist` by days waited so far
    (bins 1-2, 3-6, 7-13, 14-27, 28+), all at one place."""
    counts = np.array(hist)
    ds = fake_run([int(x) for x in counts.sum(axis=1)])
    ds["days_waited"] = (("day", "wait_bin"), counts)
    return ds.assign_coords(wait_bin=["1-2", "3-6", "7-13", "14-27", "28+"],
                            day=np.arange(counts.shape[0]))


def test_waiting_metrics_say_when_and_how_long_people_were_stranded():
    """Found by a policy analyst's review (finding 7): no metric said how long people waited
    ("days until nobody is stranded" is fixed by the day the line is cleared), nor when the peak
    came. From the run's `days_waited` bins: the most people stranded on one day who had waited
    7 days or more, and those people's share of the stranded person-days; the peak's day."""
    from corredor.analysis.compare import WAIT_METRICS, key_figure_rows, waiting_metrics

    m = waiting_metrics(_waited_run([[4, 0, 0, 0, 0], [2, 4, 0, 0, 0], [0, 2, 3, 1, 0], [0, 0, 1, 0, 1]]))
    assert set(m) == set(WAIT_METRICS) and set(WAIT_METRICS) <= set(ALL_METRICS)
    assert m["stranded_peak_day"] == 1  # (6 stranded on day 1, the first of the two days with 6)
    assert m["peak_stranded_week"] == 4  # (day 2: 3 + 1 from the 7th day of waiting on)
    assert m["stranded_week_share"] == pytest.approx(100 * 6 / 18)  # (6 of 18 person-days)
    nobody = waiting_metrics(_waited_run([[0] * 5] * 3))
    assert math.isnan(nobody["stranded_peak_day"]) and math.isnan(nobody["stranded_week_share"])
    assert nobody["peak_stranded_week"] == 0
    rows = dict(key_figure_rows({**m, "stranded_week_share": math.nan}, "2023-02-01"))
    assert rows["day the most people were stranded"] == "2023-02-02"
    assert rows["peak people stranded 7 days or more"] == "4 people"
    assert rows["share of stranded person-days at 7 days or more of waiting"] == "nobody was stranded"


def test_a_comparison_gives_the_peak_day_as_a_date_and_the_waits(small_comparison, tmp_path):
    """The peak's day and the waits are in compare's tables (dates for the day, its band too),
    comparison.csv (`median_date`, `p05_date`, `p95_date`, tagged #date) and comparison.json,
    and in the differences (the day in days)."""
    from corredor.analysis.compare import DIFF_METRICS, METRIC_TABLES, comparison_json
    from corredor.outputs.comparison_tables import comparison_tables

    comp = small_comparison
    assert ("stranded_peak_day", "peak_stranded_week", "stranded_week_share") in [k for _, k in METRIC_TABLES]
    assert {"stranded_peak_day", "peak_stranded_week", "stranded_week_share"} <= set(DIFF_METRICS)
    base = comp.values["baseline"]
    assert ((base["peak_stranded_week"] > 0) & (base["peak_stranded_week"] <= base["peak_stranded"])).all()
    assert ((base["stranded_week_share"] > 0) & (base["stranded_week_share"] < 100)).all()
    row = next(r for r in comparison_json(comp)["summary"]
               if (r["scenario"], r["metric"]) == ("baseline", "stranded_peak_day"))
    start = dt.date(2023, 2, 1)
    assert row["median_date"] == (start + dt.timedelta(days=math.floor(row["median"] + 0.5))).isoformat()
    assert row["p05_date"] <= row["median_date"] <= row["p95_date"]
    table = next(t for t in comparison_tables(comp.summary(), comp.names, 3) if "stranded_peak_day" in t.metrics)
    cell = dict(table.rows)["baseline"][0]
    assert (cell.value, cell.band) == (row["median_date"], f"[{row['p05_date']} – {row['p95_date']}]")
    paths = {p.name: p for p in write_comparison(comp, tmp_path / "out", figures=False)}
    with open(paths["comparison.csv"], newline="", encoding="utf-8") as fh:
        head, tags, *rows = list(csv.reader(fh))
    by = {(r[0], r[1]): dict(zip(head, r, strict=True)) for r in rows}
    assert by["baseline", "stranded_peak_day"]["median_date"] == row["median_date"]
    assert by["baseline", "peak_stranded"]["median_date"] == ""  # (only a day metric's)
    assert tags[head.index("median_date")] == "#date+median"


def test_a_variant_records_what_it_changes_in_its_baseline():
    """Found by a policy analyst's review (finding 3): nothing showed what a variant changed, only
    its author's description. `load_variant` records the parameters it gives other values (with
    the baseline's), those it sets to the baseline's own, and the tables whose files it replaces
    or adds; a run's manifest keeps them."""
    from corredor.engine.crisis import simulate_crisis
    from corredor.outputs.report.builder import change_lines

    variants = SCENARIO / "variants"
    cheap = load_variant(variants / "bribe_55.toml").metadata["variant_changes"]
    assert cheap == {"parameters": [{"name": "bribe_price_usd", "baseline": 100, "variant": 55}],
                     "unchanged": [], "files": []}
    assert change_lines(cheap) == ["bribe_price_usd: 100 → 55"]
    same = load_variant(variants / "bribe_100.toml").metadata["variant_changes"]
    assert change_lines(same) == ["nothing: its parameters and files are the baseline's",
                                  "bribe_price_usd: 100, the baseline's own (no change)"]
    corridor = load_variant(variants / "corridor_28apr.toml").metadata["variant_changes"]
    assert change_lines(corridor) == ["corridor_open: 2023-04-28 (not in the baseline)",
                                      "events: adds variants/corridor.csv"]
    closure = load_variant(variants / "no_peru_closure.toml").metadata["variant_changes"]
    assert change_lines(closure) == ["policies: policies.csv replaced by variants/no_peru_closure_policies.csv"]
    import dataclasses

    run = simulate_crisis(dataclasses.replace(load_variant(variants / "bribe_55.toml"), days=3), seed=1)
    assert run.manifest["scenario"]["variant_changes"] == cheap


def test_a_comparison_lists_each_variants_changes_and_says_which_change_nothing(small_comparison):
    """comparison.json's `variant_changes` and the page's Scenarios table list what each variant
    changes; a variant whose figures are the baseline's on every seed (bribe-100, the baseline's
    own price) is named in `identical_to_baseline`, and the page says so, as the CLI does."""
    from corredor.analysis.compare import comparison_json

    comp = small_comparison
    assert comp.identical_to_baseline() == ["bribe-100"]
    assert comp.identical_notes() == [
        "bribe-100: identical to the baseline on all 3 seeds: this change did not affect any run"]
    data = comparison_json(comp)
    assert data["identical_to_baseline"] == ["bribe-100"]
    assert data["variant_changes"]["bribe-55"]["parameters"] == [
        {"name": "bribe_price_usd", "baseline": 100, "variant": 55}]
    assert "baseline" not in data["variant_changes"]
    from corredor.outputs.report.comparison import render_comparison

    page = " ".join(render_comparison(data).split())
    scenarios = page[page.index('<section id="scenarios">'):]
    assert "<th class=\"text\">changed from the baseline</th>" in scenarios
    assert '<td class="text changes">bribe_price_usd: 100 → 55</td>' in scenarios
    tables = page[page.index('<section id="comparison">'):page.index('<section id="scenarios">')]
    assert ("Note: Informal price 100 USD (the baseline&#39;s own price): identical to the baseline on all "
            "3 seeds: this change did not affect any run.") in tables


def _short_compare(monkeypatch, days: int = 85) -> None:
    """`corredor compare`'s runs cut to `days` days (the CLI's naming, order and files are under
    test, not the figures): a comparison of a few seeds in seconds."""
    import dataclasses

    import corredor.analysis.compare as cmp

    real = cmp.compare
    monkeypatch.setattr(cmp, "compare", lambda scenarios, **kw: real(
        {n: dataclasses.replace(s, days=days) for n, s in scenarios.items()}, **kw))


def test_a_one_way_sweep_shows_the_baseline_in_value_order_with_its_value(tmp_path, monkeypatch):
    """Found by a policy analyst's review (finding 8): a sweep's values were only inside the row
    names, and the baseline sat at the top as "baseline", out of the price gradient. Its row is
    now named by its value, "bribe_price_usd=100 (baseline)", between 55 and 150 in the tables,
    the page and comparison.png; comparison.csv and the JSON rows have a column per swept key.
    A variant that changes nothing is said to be identical to the baseline (finding 3)."""
    from corredor.outputs.plots import comparison_figure

    _short_compare(monkeypatch)
    r = runner.invoke(app, ["compare", str(SCENARIO), str(SCENARIO / "variants" / "bribe_100.toml"),
                            "--sweep", "crisis.bribe_price_usd=150,55", "--seeds", "1", "--executor", "serial",
                            "--out", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    base = "bribe_price_usd=100 (baseline)"
    order = ["bribe_price_usd=55", base, "bribe_price_usd=150", "bribe-100"]
    first = r.stdout.split("policy comparison", 1)[1]
    rows: list[str] = []  # (a row's name may wrap at its spaces: its figures are on its first line)
    for line in first[:first.index("└")].splitlines():
        if line.startswith("│"):
            name, figure = (cell.strip() for cell in line.split("│")[1:3])
            if figure:
                rows.append(name)
            elif name:
                rows[-1] += " " + name
    # (the terminal shows each scenario by its readable name: the variant by its label)
    assert rows == [*order[:3], "Informal price 100 USD (the baseline's own price)"], r.stdout
    said = " ".join(r.stdout.split())
    assert ("note: bribe-100: identical to the baseline on its one seed: this change did not affect "
            "the run") in said
    data = json.loads((tmp_path / "c" / "comparison.json").read_text(encoding="utf-8"))
    assert data["scenarios"] == [base, "bribe-100", "bribe_price_usd=150", "bribe_price_usd=55"]
    assert data["order"] == order and data["sweep_keys"] == ["bribe_price_usd"]
    assert {r["scenario"]: r["bribe_price_usd"] for r in data["summary"]} == {
        base: 100, "bribe-100": 100, "bribe_price_usd=150": 150, "bribe_price_usd=55": 55}
    assert data["identical_to_baseline"] == ["bribe-100"]
    assert data["variant_changes"]["bribe_price_usd=55"]["parameters"] == [
        {"name": "bribe_price_usd", "baseline": 100, "variant": 55}]
    with open(tmp_path / "c" / "comparison.csv", newline="", encoding="utf-8") as fh:
        head, tags, *lines = list(csv.reader(fh))
    assert head[-1] == "bribe_price_usd" and tags[-1] == "#meta+sweep+bribe_price_usd"
    assert {line[0]: line[-1] for line in lines}[base] == "100"
    page = (tmp_path / "c" / "comparison.html").read_text(encoding="utf-8")
    table = page[page.index('<section id="comparison">'):]
    table = table[:table.index("</table>")]
    assert re.findall(r'<th scope="row">([^<]*)</th>', table) == [  # (the variant by its label)
        *order[:3], "Informal price 100 USD (the baseline&#39;s own price)"]
    fig = comparison_figure(data["summary"], data["order"], baseline=data["scenarios"][0])
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert ticks == order  # (top to bottom)
    blacks = {round(line.get_ydata()[0]) for line in fig.axes[0].get_lines()
              if line.get_color() == "black" and len(set(line.get_ydata())) == 1}
    assert blacks == {len(order) - 1 - order.index(base)}  # (the baseline's row, black)
