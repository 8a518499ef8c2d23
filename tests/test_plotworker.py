"""The figures' helper process: the job crosses intact, and its PNGs are the in-process ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from corredor.outputs import plotworker
from corredor.outputs.tables import needs_for, observations_for
from synthetic_results import crisis_like, flee_like


@pytest.mark.parametrize("make", [flee_like, crisis_like])
def test_job_packs_and_unpacks_to_identical_datasets(make, tmp_path: Path) -> None:
    res = make()
    needs = needs_for(res)
    obs = observations_for(res)
    ds, nd, ob, folder = plotworker._unpack(plotworker._pack(res.dataset, needs, obs, tmp_path))
    assert ds.identical(res.dataset)
    assert nd.identical(needs)
    assert ob == obs and folder == tmp_path


def test_objects_other_than_strings_are_refused() -> None:
    res = flee_like()
    ds = res.dataset.assign_coords(odd=("location", np.array([None] * res.dataset.sizes["location"], object)))
    with pytest.raises(plotworker.Unpackable):
        plotworker._pack(ds, None, [], Path("."))


_SAME_PNGS = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from corredor.outputs import plots, plotworker
from corredor.outputs.tables import needs_for, observations_for
from synthetic_results import crisis_like

tmp = Path(sys.argv[1])
helper = plotworker.PlotWorker.start()  # first: this process has no other threads yet
if helper is None:
    print("NOFORK")
    raise SystemExit(0)
res = crisis_like()
needs, obs = needs_for(res), observations_for(res)
(tmp / "here").mkdir()
(tmp / "there").mkdir()
expected = plots.write_plots(res, tmp / "here", needs, observations=obs)
assert helper.submit(res.dataset, needs, obs, tmp / "there")
got = helper.result()
assert got is not None and [p.name for p in got] == [p.name for p in expected], (got, expected)
for p in expected:
    assert (tmp / "there" / p.name).read_bytes() == p.read_bytes(), p.name
print("SAME", len(expected))
"""


def _same_pngs_in_a_fresh_process(script: str, tmp_path: Path) -> None:
    """Run `script` in a fresh process (pytest's own has threads by now: numba, timeouts; the
    helper is only forked from a single-threaded process) and expect it to print SAME n ≥ 1."""
    import subprocess
    import sys

    tests = Path(__file__).resolve().parent
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path), str(tests)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    if "NOFORK" in out.stdout:
        pytest.skip("no fork on this platform")
    assert out.stdout.split()[0] == "SAME" and int(out.stdout.split()[1]) >= 1


def test_helper_draws_the_same_pngs_as_the_parent(tmp_path: Path) -> None:
    _same_pngs_in_a_fresh_process(_SAME_PNGS, tmp_path)


def test_a_helper_without_a_job_ends_quietly() -> None:
    with plotworker.plot_worker() as helper:
        pass
    if helper is not None:
        assert helper.pid == 0  # reaped


class _FakeHelper:
    """Stands in for a PlotWorker: records the job; `result` writes `drawn` or answers None."""

    def __init__(self, drawn: dict[str, bytes] | None) -> None:
        self.drawn = drawn
        self.jobs: list[tuple[Any, Any, Any, Path]] = []

    def submit(self, dataset: Any, needs: Any, observations: Any, folder: Path) -> bool:
        if self.jobs:  # like PlotWorker: one job, later ones refused
            return False
        self.jobs.append((dataset, needs, observations, folder))
        return True

    def result(self) -> list[Path] | None:
        if self.drawn is None:
            return None
        folder = self.jobs[-1][3]
        for name, data in self.drawn.items():
            (folder / name).write_bytes(data)
        return [folder / name for name in self.drawn]


def _pngs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.png"))}


def test_write_run_folder_hands_the_helper_to_its_writers_and_it_takes_one_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from corredor.outputs import runfolder

    refused: list[bool] = []

    def later_figures(results: Any, folder: Path, plot_worker: Any = None) -> None:
        # a second writer that would draw: the helper is busy with the first one's job
        refused.append(plot_worker is helper and not plot_worker.submit(None, None, None, folder))

    monkeypatch.setattr(runfolder, "EXTRA_WRITERS", [*runfolder.EXTRA_WRITERS, later_figures])
    helper = _FakeHelper({"camps.png": b"drawn by the helper"})
    res = flee_like()
    out = runfolder.write_run_folder(res, tmp_path / "run", plot_worker=helper)

    assert len(helper.jobs) == 1
    dataset, needs, observations, folder = helper.jobs[0]
    assert folder.parent == tmp_path and folder.name.startswith(".run.")  # the temporary folder
    assert dataset["population"].equals(res.dataset["population"])
    assert needs.identical(needs_for(res)) and observations == observations_for(res)
    # the parent took the helper's figures and drew none itself
    assert _pngs(out) == {"camps.png": b"drawn by the helper"}
    assert (out / "results.parquet").exists() and (out / "populations.csv").exists()
    assert refused == [True]


def test_a_helper_that_refuses_the_job_leaves_the_figures_to_this_process(tmp_path: Path) -> None:
    from corredor.outputs import runfolder

    res = flee_like()
    busy = _FakeHelper({"camps.png": b"not for this run"})
    assert busy.submit(None, None, None, tmp_path)  # its one job is taken
    out = runfolder.write_run_folder(res, tmp_path / "run", plot_worker=busy)
    assert len(busy.jobs) == 1
    assert _pngs(out) == _pngs(runfolder.write_run_folder(res, tmp_path / "here"))
    assert _pngs(out)["camps.png"] != b"not for this run"


def test_without_a_helper_or_when_it_fails_the_figures_are_drawn_here(tmp_path: Path) -> None:
    from corredor.outputs import runfolder

    res = flee_like()
    here = runfolder.write_run_folder(res, tmp_path / "here")
    failed = _FakeHelper(None)
    fallback = runfolder.write_run_folder(res, tmp_path / "fallback", plot_worker=failed)

    assert len(failed.jobs) == 1
    expected = _pngs(here)
    assert expected and "camps.png" in expected
    assert _pngs(fallback) == expected


_VIA_RUN_FOLDER = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from corredor.outputs import plotworker
from corredor.outputs.runfolder import write_run_folder
from synthetic_results import crisis_like

tmp = Path(sys.argv[1])
with plotworker.plot_worker() as helper:  # first: this process has no other threads yet
    if helper is None:
        print("NOFORK")
        raise SystemExit(0)
    answers = []
    result = helper.result
    helper.result = lambda: answers.append(result()) or answers[-1]
    res = crisis_like()
    via = write_run_folder(res, tmp / "via", plot_worker=helper)
assert helper.pid == 0  # reaped
assert len(answers) == 1 and answers[0], answers  # the helper drew the figures
here = write_run_folder(res, tmp / "here")
pngs = sorted(p.name for p in here.glob("*.png"))
assert pngs == sorted(p.name for p in via.glob("*.png")) == sorted(p.name for p in answers[0])
for name in pngs:
    assert (via / name).read_bytes() == (here / name).read_bytes(), name
print("SAME", len(pngs))
"""


def test_a_run_folder_with_the_helper_has_the_in_process_pngs(tmp_path: Path) -> None:
    _same_pngs_in_a_fresh_process(_VIA_RUN_FOLDER, tmp_path)
