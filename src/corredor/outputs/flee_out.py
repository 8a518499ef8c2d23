"""Flee 3.1's out.csv from Results, so Flee's post-processing scripts keep working.

Columns (flee-model.md §4.1, Flee 3.1): Day, Date (start + t, the 3.1 rule), then per output camp
`<c> sim`, `<c> data`, `<c> error`, then Total error, refugees in camps (UNHCR),
total refugees (simulation), raw UNHCR refugee count, refugees in camps (simulation),
refugee_debt. `error` is round(|sim/data − 1|, 4) (0 when data < 1e-5); Total error is
Σ_c round(|sim_c − data_c|, 4) / raw; when raw is 0 the six totals are written as 0 (as 3.1 does).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import numpy as np


def flee_out_rows(results: Any) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of out.csv."""
    ds = results.dataset
    mask = np.asarray(ds["is_camp"].values, dtype=bool)
    camps = [str(n) for n in np.asarray(ds["location"].values)[mask]]
    sim = np.asarray(ds["population"].values)[:, mask].astype(np.int64)
    data = np.nan_to_num(np.asarray(ds["observed"].values, dtype=np.float64)[:, mask]).astype(np.int64)
    dates = [str(d)[:10] for d in ds["date"].values]
    raw = np.asarray(ds["refugees_raw"].values)
    total_people = np.asarray(ds["total_people"].values)
    debt = np.asarray(ds["refugee_debt"].values)
    header = ["Day", "Date"]
    for c in camps:
        header += [f"{c} sim", f"{c} data", f"{c} error"]
    header += ["Total error", "refugees in camps (UNHCR)", "total refugees (simulation)",
               "raw UNHCR refugee count", "refugees in camps (simulation)", "refugee_debt"]
    rows: list[list[Any]] = []
    for t in range(sim.shape[0]):
        row: list[Any] = [t, dates[t]]
        abs_err = 0.0
        for j in range(len(camps)):
            s, v = int(sim[t, j]), int(data[t, j])
            err = 0.0 if v < 1e-5 else round(abs(s / v - 1.0), 4)
            abs_err += round(abs(s - v), 4)
            row += [s, v, err]
        if raw[t] > 0:
            row += [abs_err / float(raw[t]), int(data[t].sum()), int(total_people[t]), int(raw[t]),
                    int(sim[t].sum()), int(debt[t])]
        else:
            row += [0, 0, 0, 0, 0, 0]
        rows.append(row)
    return header, rows


def write_flee_out(results: Any, path: str | os.PathLike) -> Path:
    """Write out.csv (Flee 3.1 columns) to `path`."""
    header, rows = flee_out_rows(results)
    p = Path(path)
    with p.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return p
