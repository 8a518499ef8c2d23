"""Write a run folder: manifest.json, population.csv, optional Flee out.csv, then registered writers.

Why atomic: the folder is written under a temporary name beside the target and renamed at the end,
so a crash never leaves a half-written run that looks complete. An existing folder is refused
unless `force` (then it is replaced only after the new one is complete).

Other output modules add their files by appending a callable
`(results, folder, plot_worker=None) -> None` to `EXTRA_WRITERS` (for example outputs/tables.py's
`write_standard_outputs`); a writer that also takes `csv` and `plots` gets them (false: leave out
the per-day CSV tables, the PNGs; `corredor run --no-csv`, `--no-plots`). `plot_worker` is the figures' helper process the caller passed to
`write_run_folder` (outputs/plotworker.py), or None; a helper takes one job (its `submit` answers
False after that), so a writer that draws figures submits them there and draws here if refused.

>>> write_run_folder(results, Path("runs/mali2012"), force=True, flee_out=True)  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..results import in_people, is_crisis
from ..targets import check_replaceable, swap_in

if TYPE_CHECKING:
    from .plotworker import PlotWorker

#: Writers registered by other output modules; each gets (results, folder, plot_worker=...) and
#: writes into folder (see the module docstring).
EXTRA_WRITERS: list[Callable[..., Any]] = []


class RunFolderExists(FileExistsError):
    """The target folder exists and `force` was not given."""


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def write_manifest(results: Any, folder: Path) -> Path:
    """manifest.json: the run's provenance (scenario hash, seed, engine, version, timing, metrics),
    the sha256 of each file of its scenario's folder (`scenario.files`, `provenance.input_files`),
    and for a border-crisis run its `key_figures` (`analysis.compare.key_figures`, in people; a
    figure without a value, such as days until nobody is stranded when it never does, as null),
    which the run's page gives first."""
    manifest = dict(results.manifest)
    scen = manifest.get("scenario")
    if isinstance(scen, dict) and scen.get("source") and "files" not in scen:
        from ..provenance import input_files

        # every input file's sha256, so that `corredor rerun` (or a reader) can name the one that
        # changed since the run; in manifest.json only, not in results.parquet's copy
        manifest["scenario"] = {**scen, "files": input_files(scen["source"], scen.get("variant_file"))}
    if is_crisis(results.dataset):
        from ..analysis.compare import key_figures

        manifest["key_figures"] = {k: (v if math.isfinite(v) else None)
                                   for k, v in key_figures(in_people(results.dataset)).items()}
    path = folder / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2, default=_json_default) + "\n", encoding="utf-8")
    return path


def write_population_csv(results: Any, folder: Path) -> Path:
    """population.csv: one row per day (day, date), one column per location (people at the end of
    the day), with an HXL hashtag row under the header like every corredor CSV (`tables.write_hxl_csv`;
    numbers as populations.csv writes them, so the two files agree digit for digit).

    A location's column is tagged `#affected+displaced+ind+loc_<code>` (its code as in
    populations.csv's `location_code`), so an HXL tool can tell the columns apart.
    """
    from ..analysis.compare import csv_number
    from .tables import hxl_attribute, location_table, write_hxl_csv

    ds = in_people(results.dataset)
    names = [str(n) for n in ds["location"].values]
    codes = [loc["code"] for loc in location_table(ds)]
    pop = np.asarray(ds["population"].values)
    dates = [str(d)[:10] for d in ds["date"].values] if "date" in ds.coords else [""] * pop.shape[0]
    tags = ["#meta+day", "#date", *[f"#affected+displaced+ind+{hxl_attribute('loc_' + c)}" for c in codes]]
    rows = ([t, dates[t], *pop[t].tolist()] for t in range(pop.shape[0]))
    return write_hxl_csv(folder / "population.csv", ["day", "date", *names], tags, rows, number=csv_number)


def _takes(writer: Callable[..., Any], name: str) -> bool:
    """Whether `writer` takes the keyword `name` (writers registered before `csv` and `plots`
    existed take only `plot_worker`)."""
    try:
        params = inspect.signature(writer).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def write_run_folder(results: Any, out_dir: str | os.PathLike, force: bool = False,
                     flee_out: bool = False, plot_worker: PlotWorker | None = None,
                     csv: bool = True, plots: bool = True) -> Path:
    """Write the run folder at `out_dir` atomically and return its path.

    `plot_worker`: a figures' helper process started by the caller (outputs/plotworker.py) to
    draw the PNGs while the tables are written; None (the default) draws them in this process.
    `csv=False` leaves out the per-day CSV tables (population.csv, populations.csv, needs.csv,
    sites_by_group.csv: at scale the largest files and most of the writing time; results.parquet
    holds the same numbers), `plots=False` the PNGs; manifest.json, results.parquet, network.json
    and the GeoJSON files are always written, so `corredor report` still reads the folder.
    Raises RunFolderExists if `out_dir` exists and `force` is false, and UnsafeTarget (before
    anything is written) if it is the scenario's folder or inside it, or if replacing it would
    delete what corredor did not write (`targets.check_replaceable`).
    """
    out = Path(os.path.abspath(out_dir))  # (`.` has no name to build a sibling from)
    scen = (getattr(results, "manifest", None) or {}).get("scenario")
    # (first: a scenario's folder, or one inside it, is refused with or without `force`)
    check_replaceable(out_dir, [scen.get("source")] if isinstance(scen, dict) else [], replace=force)
    if out.exists() and not force:
        raise RunFolderExists(f"{out_dir} exists; use --force to replace it")
    if flee_out and "refugees_raw" not in results.dataset:
        raise ValueError("flee_out: Flee 3.1's out.csv needs the results of a Flee-style "
                         "scenario (camps and UNHCR data), not of a border-crisis one")

    def write(tmp: Path) -> None:
        write_manifest(results, tmp)
        if csv:
            write_population_csv(results, tmp)
        if flee_out:
            from .flee_out import write_flee_out

            write_flee_out(results, tmp / "out.csv")
        for writer in list(EXTRA_WRITERS):
            options = {k: v for k, v in (("csv", csv), ("plots", plots)) if _takes(writer, k)}
            writer(results, tmp, plot_worker=plot_worker, **options)

    return swap_in(out, write, replace=force)
