"""The figures' helper process: the job crosses intact, and its PNGs are the in-process ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from corredor.outputs import plots, plotworker
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


def test_helper_draws_the_same_pngs_as_the_parent(tmp_path: Path) -> None:
    res = crisis_like()
    needs = needs_for(res)
    obs = observations_for(res)
    here = tmp_path / "here"
    there = tmp_path / "there"
    here.mkdir()
    there.mkdir()
    expected = plots.write_plots(res, here, needs, observations=obs)
    helper = plotworker.PlotWorker.start()
    if helper is None:
        pytest.skip("no fork here (or other threads running)")
    assert helper.submit(res.dataset, needs, obs, there)
    got = helper.result()
    assert got is not None and [p.name for p in got] == [p.name for p in expected]
    for p in expected:
        assert (there / p.name).read_bytes() == p.read_bytes()


def test_a_helper_without_a_job_ends_quietly() -> None:
    with plotworker.plot_worker() as helper:
        pass
    assert plotworker.active() is None
    if helper is not None:
        assert helper.pid == 0  # reaped
