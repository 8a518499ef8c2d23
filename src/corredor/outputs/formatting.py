"""How figures are written for people: one home for the forms the report pages and the CLI share.

Why: the run report, the ensemble page, the main job's comparison rows and `corredor compare`'s
tables each wrote differences and bands with their own copy of the same rule, and the copies
drifted (one wrote a difference of 0.02 as "+0", the other as "0"). Plain functions of numbers,
no imports beyond the standard library, so the CLI can use them without loading the report.
A negative figure is written with the minus sign "−" (U+2212), as the docs write it, not the
hyphen "-": these texts are for people only. Files for programs (CSV, JSON, Parquet) write
numbers their own way and never through this module.

>>> fmt_exact(10710.0), fmt_exact(48.5), signed(-214.0), signed(424.5), signed(0.02)
('10,710', '48.5', '−214', '+424.5', '0')
>>> signed(1234.6, whole=True), band_cell(480.0, 400.0, 560.0), band_cell(120.0, None, None)
('+1,235', '480 [400–560]', '120')
>>> count_text(930.5), count_text(8667.5), band_cell(930.5, 905.1, 941.4, whole=is_count_unit("people"))
('930', '8,668', '930 [905–941]')
>>> signed_percent(-1.0), signed_percent(0.124), signed_percent(-0.0004), signed_percent(0.0123, 1, " ")
('−100%', '+12%', '0%', '+1.2 %')
"""

from __future__ import annotations

import datetime as dt
import math

#: What a figure that is not there reads as (NaN, None): an en dash, never "nan".
MISSING = "–"
#: The sign of a negative figure (U+2212), a dash as wide as "+"; the hyphen "-" is for files.
MINUS = "\u2212"


def _finite(v: float | None) -> bool:
    return v is not None and math.isfinite(v)


#: The units of figures that count whole things. A median, a band edge or a mean of one (a quantile
#: of people over seeds is often 930.5, a band edge 154.2 tents), or one run's figure (745 people's
#: covered space is 2,607.5 m²), is written as a whole number on
#: every page and table people read (`count_text`): "0.2 tents" and "half a person" are nobody's
#: plan, and the CLI's tables and the pages wrote the same figure two ways. Square metres of
#: covered space count too (planned, and printed by `corredor compare`, in whole m²), as do litres
#: a day (the busiest day's water, trucked in whole litres). Figures of
#: any other unit (shares, rates, probabilities, parameters, errors) keep their decimals.
COUNT_UNITS = frozenset({"people", "person-days", "person-nights", "days", "l", "l/day", "rations", "USD",
                         "tents", "toilets", "m²", "m2"})


#: Units as a page or a table a person reads writes them: litres in full (a bare "l" after a number
#: reads as a trailing digit 1 in print: "426,525 l"). Files (CSV, JSON) keep the short unit.
UNIT_WORDS = {"l": "litres", "l/day": "litres/day"}


def unit_text(unit: str) -> str:
    """`unit` as people read it (UNIT_WORDS), else as given."""
    return UNIT_WORDS.get(unit.strip(), unit)


def is_count_unit(unit: str | None) -> bool:
    """Whether a figure of `unit` counts whole things (COUNT_UNITS), as a file (`m2`) or a screen
    (`m²`) writes the unit; False for no unit."""
    return unit is not None and str(unit).strip() in COUNT_UNITS


def count_text(v: float | None) -> str:
    """A figure of a count (COUNT_UNITS) as people read it, the one rule for figures of counts:
    rounded to a whole number (half to even, as Python and the CLI's `{:,.0f}` round: 930.5 is
    930, 8,667.5 is 8,668), every digit; "–" for none."""
    if v is None or not _finite(float(v)):
        return MISSING
    return fmt_exact(round(float(v)))


def fmt_exact(v: float | None) -> str:
    """A figure to plan with: every digit of a whole number (10,710, not "11 k"), one decimal
    otherwise (a median of 48.5 toilets is not shown as 48); short forms ("11 k") are for axes
    and labels."""
    if v is None or not _finite(float(v)):
        return MISSING
    v = float(v)
    if abs(v - round(v)) < 0.05:
        text = f"{round(v) + 0:,.0f}"  # (+ 0: no "-0" for −0.04)
    else:
        text = f"{v:,.1f}"
    return MINUS + text[1:] if text.startswith("-") else text


def signed(x: float | None, whole: bool = False) -> str:
    """A difference with its sign, every digit: +1,234, −56.5, and 0 for whatever shows as 0
    (never "+0" or "-0"). `whole`: a difference of a count, written by `count_text` (a whole
    number, as its medians are)."""
    if x is None or not _finite(float(x)):
        return MISSING
    text = count_text(x) if whole else fmt_exact(float(x))
    return "+" + text if float(x) > 0 and text != "0" else text


def signed_percent(share: float | None, digits: int = 0, sep: str = "") -> str:
    """A relative difference (0.12 = 12 %) with its sign: +12%, −100%, and 0% for whatever shows
    as 0 (never "+0%" or "-0%"); `digits` after the point, `sep` before the "%" ("+1.2 %")."""
    if share is None or not _finite(float(share)):
        return MISSING
    text = f"{abs(float(share)) * 100:,.{digits}f}"
    if not text.strip("0.,"):
        return f"0{sep}%"
    return ("+" if share > 0 else MINUS) + text + sep + "%"


def band_cell(median: float | None, low: float | None, high: float | None, whole: bool = False) -> str:
    """A median with its 5–95 % band, "480 [400–560]" (a comparison cell, as the report and the
    main job write it); the median alone where the band is missing, "–" without a median.
    `whole`: each written by `count_text` (a count: "251.8" people is "252"), as every table of
    counts writes them.

    >>> band_cell(268.0, 251.8, 279.0), band_cell(268.0, 251.8, 279.0, whole=True)
    ('268 [251.8–279]', '268 [252–279]')
    """
    if median is None or not _finite(float(median)):
        return MISSING

    def text(v: float) -> str:
        return count_text(v) if whole else fmt_exact(v)

    if low is None or high is None:
        return text(median)
    return f"{text(median)} [{text(low)}–{text(high)}]"


def day_date(day: float | None, start: dt.date | str | None) -> str:
    """A day number (0 = `start`) as its date, "2023-04-14": a per-replica day metric or a
    quantile of one, rounded to the nearer day (a median between day 72 and 73 is 72.5; halves go
    to the later day); "day 72" without a start date (an ISO date text or a date); "–" for none.

    >>> day_date(72.5, "2023-02-01"), day_date(3.0, None), day_date(float("nan"), "2023-02-01")
    ('2023-04-15', 'day 3', '–')
    """
    if day is None or not _finite(float(day)):
        return MISSING
    whole = math.floor(float(day) + 0.5)
    if isinstance(start, str):
        try:
            start = dt.date.fromisoformat(start[:10])
        except ValueError:
            start = None
    if not isinstance(start, dt.date):
        return f"day {whole}"
    return (start + dt.timedelta(days=whole)).isoformat()
