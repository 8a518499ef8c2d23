"""outputs.formatting: the figures the report pages and the CLI's tables share."""

from __future__ import annotations

import math

import pytest

from corredor.outputs.formatting import band_cell, count_text, fmt_exact, is_count_unit, signed


@pytest.mark.parametrize(("x", "shown", "whole"), [
    (424.5, "+424.5", "+424"),  # (whole: half to even, as Python rounds)
    (-214.0, "−214", "−214"),
    (1234.6, "+1,234.6", "+1,235"),
    (0.0, "0", "0"),
    (-0.0, "0", "0"),
    (0.02, "0", "0"),  # found by review: the report wrote a p05 of +0.02 as "+0"
    (-0.02, "0", "0"),
    (0.4, "+0.4", "0"),
    (-0.5, "−0.5", "0"),
    (math.nan, "–", "–"),
    (None, "–", "–"),
])
def test_a_difference_has_its_sign_and_never_a_signed_zero(x, shown, whole):
    assert signed(x) == shown
    assert signed(x, whole=True) == whole


def test_a_band_cell_is_the_median_and_its_band_every_digit():
    assert band_cell(10710.0, 8348.3, 11892.0) == "10,710 [8,348.3–11,892]"
    assert band_cell(120.0, None, None) == "120"
    assert band_cell(None, 1.0, 2.0) == band_cell(math.nan, 1.0, 2.0) == "–"


def test_a_whole_band_cell_is_written_as_the_clis_tables_write_theirs():
    """`whole`: the CLI's tables write medians and bands as whole numbers ({:,.0f}); the note
    under them quotes a band so, the report's the same band with one decimal where not whole."""
    median, low, high = 1268.0, 251.8, 1278.5
    assert band_cell(median, low, high, whole=True) == f"{median:,.0f} [{low:,.0f}–{high:,.0f}]" == "1,268 [252–1,278]"
    assert band_cell(median, low, high) == "1,268 [251.8–1,278.5]"
    assert band_cell(120.4, None, None, whole=True) == "120"
    assert fmt_exact(-0.04) == "0" and fmt_exact(48.5) == "48.5"


def test_the_reports_differences_show_a_tiny_difference_as_zero():
    """The report's differences table and the CLI's write a difference the same way (one
    function): a 5 % quantile of +0.02 people is "0", not "+0"; a difference of people is a
    whole number (−3.5 people is −4, half to even), as the CLI prints it."""
    from corredor.outputs.report.comparison_section import difference_rows

    rows = difference_rows([{"scenario": "corridor", "metric": "peak_stranded", "diff_median": -3.5,
                             "diff_p05": -7.0, "diff_p95": 0.02}])
    # (its band includes 0: within chance variation, marked as the CLI marks it)
    assert rows is not None and list(rows[0].values()) == ["corridor", "−4 (chance) [−7 – 0]"]
    assert signed(-3.5, whole=True) == "−4" and signed(-3.5) == "−3.5"


@pytest.mark.parametrize(("unit", "count"), [
    ("people", True), ("person-days", True), ("days", True), ("USD", True), ("l", True), ("l/day", True),
    ("rations", True), ("tents", True), ("toilets", True), ("m²", True), ("m2", True),
    ("1", False), ("share", False), ("", False), (None, False), ("probability", False),
])
def test_a_count_unit_is_one_whose_quantiles_read_as_whole_numbers(unit, count):
    """Found by a user acceptance pass: the page wrote 0.1 tents, 0.9 toilets and half people
    where the CLI wrote whole numbers. One rule: a figure of a count reads as a whole number."""
    assert is_count_unit(unit) is count
    assert band_cell(930.5, 905.1, 941.4, whole=is_count_unit(unit)) == (
        "930 [905–941]" if count else "930.5 [905.1–941.4]")


@pytest.mark.parametrize(("value", "shown"), [
    (930.5, "930"), (8667.5, "8,668"), (154.2, "154"), (25.9, "26"), (424567.5, "424,568"),
    (-0.4, "0"), (-1234.6, "−1,235"), (math.nan, "–"), (None, "–"), (math.inf, "–"),
])
def test_count_text_rounds_half_to_even_as_the_clis_tables_did(value, shown):
    assert count_text(value) == shown
    if value is not None and math.isfinite(value) and value >= 0:
        assert shown == f"{value:,.0f}"  # (the CLI's own form before there was one rule)


def test_negative_figures_have_a_minus_sign_for_people_and_a_hyphen_for_programs(tmp_path, capsys):
    """Differences read "-120" with the hyphen in the CLI's tables and the report, where the docs
    write "−120" (U+2212, as wide as "+"). The files for programs keep plain numbers: a CSV or
    JSON reader must still parse -200."""
    import json

    import numpy as np

    from corredor.analysis.compare import ALL_METRICS, Comparison, comparison_csv, write_comparison
    from corredor.cli import _print_comparison
    from corredor.outputs.formatting import MINUS, signed_percent
    from corredor.outputs.report.comparison_section import difference_rows

    assert MINUS == "\u2212"
    assert (signed(-120.0), fmt_exact(-1234.5), signed_percent(-0.5)) == ("−120", "−1,234.5", "−50%")
    assert [signed_percent(x) for x in (0.124, -0.0004, 0.0004, None)] == ["+12%", "0%", "0%", "–"]
    base = np.linspace(400.0, 600.0, 5)
    values = {"baseline": {k: base.copy() for k in ALL_METRICS}, "policy": {k: base - 200 for k in ALL_METRICS}}
    comp = Comparison(["baseline", "policy"], list(range(5)), values, {n: np.zeros((5, 3)) for n in values})
    _print_comparison(comp)
    out = capsys.readouterr().out
    diffs = out[out.index("difference from the baseline"):]
    assert " −200 │" in diffs and "[−200 – −200]" in diffs and "-2" not in diffs
    rows = difference_rows(comp.summary())
    assert rows is not None and rows[0]["peak stranded (people)"] == "−200 [−200 – −200]"
    write_comparison(comp, tmp_path)
    for name in ("comparison.csv", "comparison.json"):
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert MINUS not in text and "-200" in text, name
    assert text.isascii()  # (comparison.json)
    summary = json.loads(text)["summary"]
    assert next(r for r in summary if r["scenario"] == "policy")["diff_median"] == -200
    assert ",-200" in comparison_csv(comp)
