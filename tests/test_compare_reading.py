"""How a comparison reads: its bands at few seeds, differences within chance variation, sweep
points whose value means "none", the sweep's refusal of a variant's parameter, and each
scenario by one readable name in every output (a policy analyst's review)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from corredor.analysis.compare import ALL_METRICS, Comparison, comparison_csv, comparison_json
from corredor.cli import _print_comparison, app

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "scenarios" / "chile-peru-2023"
runner = CliRunner()


def comparison(seeds: int, labels: dict[str, str] | None = None) -> Comparison:
    """Three scenarios over `seeds` seeds: the baseline; "noise", the baseline plus noise of
    either sign (its differences cross 0), but the same give-ups on every seed; "cut", 200
    fewer on every seed, give or take 5 (a difference far from 0)."""
    rng = np.random.default_rng(7)
    base = rng.normal(500, 50, seeds)
    values = {"baseline": {k: base.copy() for k in ALL_METRICS},
              "noise": {k: base + rng.normal(0, 30, seeds) for k in ALL_METRICS},
              "cut": {k: base - 200 + rng.normal(0, 5, seeds) for k in ALL_METRICS}}
    values["noise"]["give_ups"] = base.copy()
    return Comparison(list(values), list(range(seeds)), values, {n: np.zeros((seeds, 3)) for n in values},
                      start_dates={n: dt.date(2023, 2, 1) for n in values}, labels=labels or {})


def printed(comp: Comparison, capsys) -> str:
    _print_comparison(comp)
    return capsys.readouterr().out


def test_a_bands_share_of_runs_is_what_band_coverage_says():
    """The rule the notes rest on: a 5–95 % band over n seeds (numpy's quantiles, as `summary`
    makes them) holds one more seed's value with probability 0.9 (n − 1)/(n + 1) (exactly for
    values spread evenly, within 3 points for a normal or a skewed spread), far from 90 % with
    few seeds: checked by drawing."""
    from corredor.analysis.compare import band_coverage

    rng = np.random.default_rng(1)
    for draw, within in ((rng.uniform, 0.01), (rng.normal, 0.03), (rng.exponential, 0.03)):
        for n in (2, 3, 5, 10, 20):
            draws = draw(size=(40_000, n + 1))
            lo, hi = np.quantile(draws[:, :n], [0.05, 0.95], axis=1)
            held = np.mean((draws[:, n] >= lo) & (draws[:, n] <= hi))
            assert held == pytest.approx(band_coverage(n), abs=within), (draw, n)


def test_with_one_seed_there_is_no_band_and_below_ten_the_bands_are_said_not_meaningful(capsys, tmp_path):
    """Found by a policy analyst: with 1 seed compare printed "506 [506–506]" under
    "median [5–95 %] over 1 seed", with 2 "[506–508]", and nothing on the terminal, the page or
    comparison.json said the bands meant nothing at that number of seeds."""
    from corredor.analysis.compare import MIN_BAND_SEEDS
    from corredor.outputs.plots import comparison_figure
    from corredor.outputs.report.comparison import render_comparison

    one = printed(comparison(1), capsys)
    first = one[:one.index("└")]
    assert "policy comparison: 1 seed, no range" in first and "[" not in first.split("┡")[1]
    assert "1 seed: no range." in " ".join(one.split())
    diff = one[one.index("difference from the baseline, seed by seed: 1 seed, no range"):]
    assert "[" not in diff[:diff.index("└")].split("┡")[1]  # (nor a difference's band)
    bands = comparison_json(comparison(1))["bands"]
    assert (bands["seeds"], bands["meaningful"], bands["min_seeds"], bands["coverage"]) == (1, False, MIN_BAND_SEEDS, 0)
    assert bands["note"].startswith("1 seed: no range")

    three = printed(comparison(3), capsys)
    said = " ".join(three.split())
    assert "with 3 seeds the [5–95 %] bands are not meaningful" in said and "45 % of runs, not 90 %" in said
    assert "policy comparison: median [5–95 %] over 3 seeds" in said  # (the bands are still shown)
    data = json.loads(json.dumps(comparison_json(comparison(3))))
    assert data["bands"]["meaningful"] is False and "not meaningful" in data["bands"]["note"]
    page = render_comparison(data)
    assert '<p class="caution">With 3 seeds the [5–95 %] bands are not meaningful' in page
    assert page.count("bands are not meaningful") == 1  # (above the tables, not again under the first)
    figure = comparison_figure(comparison(3).summary(), ["baseline", "noise", "cut"])
    assert "with 3 seeds the bands are not meaningful" in figure.get_suptitle()
    one_page = render_comparison(json.loads(json.dumps(comparison_json(comparison(1)))))
    assert "the figure of one run (1 seed, so no range)" in one_page and "median over the 1 seed" not in one_page

    twelve = " ".join(printed(comparison(12), capsys).split())
    assert "with 12 seeds a [5–95 %] band is close to the range of the 12 values" in twelve
    assert "not meaningful" not in twelve and comparison_json(comparison(12))["bands"]["meaningful"] is True
    assert comparison_json(comparison(25))["bands"]["note"] == ""
    assert "seeds a [5–95 %] band" not in printed(comparison(25), capsys)


def test_a_difference_whose_band_includes_zero_is_marked_within_chance(capsys):
    """Found by a policy analyst: "0 [−5 – +11]" let a reader see that a difference crosses 0,
    but nothing marked it as within chance variation. The terminal and the page mark it
    "(chance)" and say why under the table; comparison.csv and .json say it in
    `diff_within_chance` (true, false, empty for the baseline). A difference of 0 on every
    seed is no difference, not chance: true in the files, unmarked in the tables."""
    from corredor.outputs.report.comparison import render_comparison

    comp = comparison(20)
    rows = {(r["scenario"], r["metric"]): r for r in comp.summary()}
    assert rows["noise", "peak_stranded"]["diff_p05"] < 0 < rows["noise", "peak_stranded"]["diff_p95"]
    assert rows["noise", "peak_stranded"]["diff_within_chance"] is True
    assert rows["cut", "peak_stranded"]["diff_within_chance"] is False
    assert rows["noise", "give_ups"]["diff_within_chance"] is True  # ([0 – 0])
    assert rows["baseline", "peak_stranded"]["diff_within_chance"] is None
    head, _tags, *lines = list(csv.reader(comparison_csv(comp).splitlines()))
    table = {(r["scenario"], r["metric"]): r for r in (dict(zip(head, line, strict=True)) for line in lines)}
    assert [table[n, "peak_stranded"]["diff_within_chance"] for n in ("baseline", "noise", "cut")] == ["", "true", "false"]
    assert comparison_json(comp)["summary"][len(ALL_METRICS)]["diff_within_chance"] is True  # (noise's first row)

    out = printed(comp, capsys)
    diff = out[out.index("difference from the baseline, seed by seed"):]
    lines = diff[:diff.index("└")].splitlines()
    noise = next(line for line in lines if line.startswith("│ noise"))
    cut = next(line for line in lines if line.startswith("│ cut"))
    cells = [c.strip() for c in noise.split("│")[1:-1]]
    assert cells[1].endswith("(chance)") and cells[4] == "0"  # (peak stranded; give-ups: 0 on every seed)
    assert "(chance)" not in cut
    assert "(chance): within chance variation: the 5–95 % band of this difference, seed by seed, includes 0" in \
        " ".join(diff.split())
    page = render_comparison(json.loads(json.dumps(comparison_json(comp))))
    section = page[page.index('id="differences"'):]
    assert "(chance) <span" in section and "A difference marked <q>(chance)</q> is within chance variation" in section


def test_each_scenario_has_its_readable_name_in_every_output_and_the_csv_says_it_apart(capsys, tmp_path):
    """Found by a policy analyst: the page said "Peru closes 1 Apr", the terminal, comparison.png
    and comparison.csv `close-1apr`; the CSV's `label` column is the metric's. The readable name
    is now in the terminal's tables, the figure and the page, and comparison.csv and .json have
    it in `scenario_label` (`#meta+scenario+label`) beside the name; `label` is as it was."""
    from corredor.analysis.compare import write_comparison
    from corredor.outputs.plots import comparison_figure

    comp = comparison(3, labels={"noise": "Peru closes 1 Apr"})
    head, tags, *rows = list(csv.reader(comparison_csv(comp).splitlines()))
    assert head[:12] == ["scenario", "metric", "unit", "median", "p05", "p95", "seeds", "seeds_without_value",
                         "diff_median", "diff_p05", "diff_p95", "label"]  # (as they were)
    assert tags[head.index("scenario_label")] == "#meta+scenario+label"
    by = {(r[0], r[1]): dict(zip(head, r, strict=True)) for r in rows}
    assert by["noise", "give_ups"]["scenario_label"] == "Peru closes 1 Apr"
    assert by["noise", "give_ups"]["label"] == "give-ups"
    assert by["cut", "give_ups"]["scenario_label"] == "cut"  # (no label: its name)
    assert {r["scenario_label"] for r in comparison_json(comp)["summary"]} == {"baseline", "Peru closes 1 Apr", "cut"}

    out = printed(comp, capsys)
    assert "│ Peru closes 1 Apr" in out and "│ noise " not in out
    ticks = [t.get_text() for t in comparison_figure(comp.summary(), comp.names, labels=comp.labels).axes[0].get_yticklabels()]
    assert ticks == ["baseline", "Peru closes 1 Apr", "cut"]
    write_comparison(comp, tmp_path)
    page = (tmp_path / "comparison.html").read_text(encoding="utf-8")
    assert '<th scope="row">Peru closes 1 Apr</th>' in page


def test_a_sweep_of_a_parameter_only_a_variant_has_says_sweeps_vary_the_baseline():
    """Found by a policy analyst: `compare BASELINE corridor_28apr.toml --sweep
    crisis.corridor_open=…` said only "unknown crisis parameter 'corridor_open'", though the
    corridor variant given beside it has it: a sweep varies the first scenario only."""
    corridor = SCENARIO / "variants" / "corridor_28apr.toml"
    r = runner.invoke(app, ["compare", str(SCENARIO), str(corridor), "--sweep",
                            "crisis.corridor_open=2023-04-14,2023-05-05", "--seeds", "1", "--executor", "serial"])
    said = " ".join(r.output.split())
    assert r.exit_code == 2 and "Traceback" not in r.output, r.output
    assert (f"--sweep crisis.corridor_open: the baseline ({SCENARIO}) has no crisis parameter 'corridor_open': "
            "--sweep varies only the baseline, the first scenario given") in said, said
    assert f"corridor-28apr ({corridor}) defines it" in said
    assert "sets corridor_open after the run's last day" in said and "docs/chile-peru-2023.md" in said
    # (a key no scenario has is still a typo, with its did-you-mean)
    r = runner.invoke(app, ["compare", str(SCENARIO), str(corridor), "--sweep", "crisis.corridor_opem=2023-04-14",
                            "--seeds", "1", "--executor", "serial"])
    assert r.exit_code == 2 and "unknown crisis parameter 'corridor_opem'" in r.output
    assert "varies only the baseline" not in r.output


def fake_compare(scenarios, seeds=20, **_):
    """`analysis.compare.compare` without the runs: zeros, the names and labels as it gives them."""
    names = list(scenarios)
    values = {n: {k: np.zeros(seeds) for k in ALL_METRICS} for n in names}
    return Comparison(names, list(range(seeds)), values, {n: np.zeros((seeds, 3)) for n in names},
                      labels={n: str(s.metadata["variant_label"]) for n, s in scenarios.items()
                              if s.metadata.get("variant") and s.metadata.get("variant_label")})


def test_a_swept_price_of_zero_is_named_no_paid_passage(tmp_path, monkeypatch, capsys):
    """Found by a policy analyst: in a sweep of the informal price, the point 0 is "no paid
    passage" (as stranding as 300 USD), not free passage; named `bribe_price_usd=0` it read as
    the cheapest point of a gradient. Its name (the terminal's rows, comparison.csv, .json,
    the figure, the page) says so, for `bribe_price_usd` and for a parameter a policy row
    names in `price_usd`; the baseline's own value of 0 too."""
    import corredor.analysis.compare as compare_module

    monkeypatch.setattr(compare_module, "compare", fake_compare)
    r = runner.invoke(app, ["compare", str(SCENARIO), "--sweep", "crisis.bribe_price_usd=0,55",
                            "--seeds", "2", "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    data = json.loads((tmp_path / "out" / "comparison.json").read_text(encoding="utf-8"))
    # (a one-way sweep names the baseline by its value: test_compare.py's value-order test)
    assert data["scenarios"] == ["bribe_price_usd=100 (baseline)", "bribe_price_usd=0 (no paid passage)",
                                 "bribe_price_usd=55"]
    assert "bribe_price_usd=0 (no paid passage)" in r.output
    with open(tmp_path / "out" / "comparison.csv", newline="", encoding="utf-8") as f:
        assert "bribe_price_usd=0 (no paid passage)" in {row[0] for row in csv.reader(f)}

    # a price parameter of the scenario's own, named in policies.csv's price_usd, at 0 as written
    copy = tmp_path / "cp"
    shutil.copytree(SCENARIO, copy, ignore=shutil.ignore_patterns("variants"))
    policies = copy / "policies.csv"
    policies.write_text(policies.read_text(encoding="utf-8").replace("$bribe_price_usd", "$santa_price"),
                        encoding="utf-8")
    toml = copy / "scenario.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("[crisis.parameters]\n",
                                                             "[crisis.parameters]\nsanta_price = 0.0\n"),
                    encoding="utf-8")
    r = runner.invoke(app, ["compare", str(copy), "--sweep", "crisis.santa_price=0,40", "--seeds", "1"])
    assert r.exit_code == 0, r.output
    said = " ".join(r.output.split())
    assert "as written: santa_price=0 (no paid passage)" in said
    assert "santa_price=40" in said and "santa_price=40 (" not in said


def test_build_variants_says_what_a_value_means():
    from corredor.analysis.ensemble import build_variants
    from corredor.scenario.model import Crisis, PolicyPeriod
    from corredor.scenario.native_crisis import zero_meaning

    crisis = Crisis(policies=(PolicyPeriod("x", 0, 9, parameters={"price_usd": "p", "militarisation": "m"}),))
    assert [zero_meaning(crisis, k, 0.0) for k in ("p", "m", "bribe_price_usd", "give_up_base")] == [
        "no paid passage", None, "no paid passage", None]
    points = build_variants({}, [("crisis.p", [0.0, 5.0]), ("crisis.m", [0.0])],
                            meaning=lambda k, v: zero_meaning(crisis, k.removeprefix("crisis."), v))
    assert [v.label for v in points] == ["p=0 (no paid passage),m=0", "p=5,m=0"]
