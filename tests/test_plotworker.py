"""The figures' helper process: the job crosses intact, and its PNGs are the in-process ones."""

from __future__ import annotations

from pathlib import Path

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


def test_helper_draws_the_same_pngs_as_the_parent(tmp_path: Path) -> None:
    # in a fresh process: pytest's own process has threads by now (numba, timeouts), and the helper
    # is only forked from a single-threaded process
    import subprocess
    import sys

    tests = Path(__file__).resolve().parent
    out = subprocess.run([sys.executable, "-c", _SAME_PNGS, str(tmp_path), str(tests)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    if "NOFORK" in out.stdout:
        pytest.skip("no fork on this platform")
    assert out.stdout.split()[0] == "SAME" and int(out.stdout.split()[1]) >= 1


def test_a_helper_without_a_job_ends_quietly() -> None:
    with plotworker.plot_worker() as helper:
        pass
    assert plotworker.active() is None
    if helper is not None:
        assert helper.pid == 0  # reaped
