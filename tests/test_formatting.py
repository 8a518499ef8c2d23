"""outputs.formatting: the figures the report pages and the CLI's tables share."""

from __future__ import annotations

import math

import pytest

from corredor.outputs.formatting import band_cell, fmt_exact, signed


@pytest.mark.parametrize(("x", "shown", "whole"), [
    (424.5, "+424.5", "+424"),  # (whole: half to even, as Python rounds)
    (-214.0, "-214", "-214"),
    (1234.6, "+1,234.6", "+1,235"),
    (0.0, "0", "0"),
    (-0.0, "0", "0"),
    (0.02, "0", "0"),  # found by review: the report wrote a p05 of +0.02 as "+0"
    (-0.02, "0", "0"),
    (0.4, "+0.4", "0"),
    (-0.5, "-0.5", "0"),
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
    function): a 5 % quantile of +0.02 people is "0", not "+0"."""
    from corredor.outputs.report.builder import difference_rows

    rows = difference_rows([{"scenario": "corridor", "metric": "peak_stranded", "diff_median": -3.5,
                             "diff_p05": -7.0, "diff_p95": 0.02}])
    assert rows is not None and list(rows[0].values()) == ["corridor", "-3.5 [-7 – 0]"]
