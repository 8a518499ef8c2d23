"""GPU backend (engine/gpu.py): the CUDA kernels against the CPU agent engine, without a GPU.

Where this machine has no CUDA driver, numba's CUDA simulator runs the kernels as Python threads
(NUMBA_ENABLE_CUDASIM=1, switched on here before numba.cuda is first imported; its barriers made
to wait instead of poll by fast_cudasim.py); set
CORREDOR_GPU_TESTS=device to use a real GPU instead. The simulator is slow, so the cases are tiny
(a few hundred people, a few days). Without a device and without the simulator everything here is
skipped. What is compared:
- the device's counter-based uniforms are bit-identical to engine/rng.py's;
- a seed gives the CPU engine's daily counts exactly (same draws, same step order): on the mini
  case (closures, chaining), with a capped camp whose multiplier changes with every departure in
  pass A (movers there replayed on the host in index order, later movers deferred), and with
  capacities binding during pass B's same-day moves (chains replayed in Flee's serial order); with
  either way of drawing pass A's movers (draws "gaps", the CPU's default, and "bernoulli");
- how the work is laid out (threads per block, shared-memory or global tallies, blocks looping
  over several chunks, profiling) changes nothing;
- settings and situations the backend does not run are refused with a clear error.
On hardware, benchmarks/gpu_device_check.py compares the engines over ≥ 100 seeds of mali2012 and car.
"""

from __future__ import annotations

import ctypes.util
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

if "numba.cuda" not in sys.modules and os.environ.get("CORREDOR_GPU_TESTS") != "device":
    if os.environ.get("NUMBA_ENABLE_CUDASIM") is None and ctypes.util.find_library("cuda") is None:
        os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
        import numba.core.config

        numba.core.config.reload_config()

from numba import cuda  # noqa: E402 - after the simulator is chosen

from corredor.engine import gpu  # noqa: E402
from corredor.engine.agents import run_agents  # noqa: E402
from corredor.engine.rng import Stream, seed_words, uniform  # noqa: E402
from corredor.plan import compile_plan  # noqa: E402
from corredor.scenario import load_scenario  # noqa: E402
from corredor.simulate import simulate  # noqa: E402
from scenario_cases import MINI, write_mini_flee  # noqa: E402

if gpu.simulator_enabled():
    import fast_cudasim

    fast_cudasim.install()  # the simulator's barriers wait instead of polling: same results, ~20x faster

pytestmark = [
    pytest.mark.skipif(not gpu.gpu_available(), reason="no CUDA device and no CUDA simulator"),
    pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning"),
]

FIELDS = ("population", "arrivals", "departures", "travellers", "spawned", "alive")
TPB = 32  # threads per block in the simulator (any power of two gives the same result)


def write_camps(folder: Path, *, km: int, speed: float, days: int, cap_d: int = 60, d0: int = 50,
                e0: int = 30, walk_p: float = 0.0, extra_moves: str = "") -> Path:
    """Capped camp D (capacity cap_d, d0 people on day 0) in its buffer zone (capacity_buffer 0.5),
    camp E (e0 people, unlimited) next to it, town B, conflict zone A; camp_movechance 0.3, so
    every departure from D changes its capacity multiplier and people at E (later in index order)
    must see those changes. Links are `km` long; max_move_speed `speed`."""
    files = {
        "input_csv/locations.csv": (
            "#name,region,country,gps_x,gps_y,location_type,conflict_date,population\n"
            f"A,R,Land,0,0,conflict_zone,0,20000\nB,R,Land,0,1,town,,800\n"
            f"D,R,Other,1,1,camp,,{cap_d}\nE,R,Other,2,1,camp,,0\n"),
        "input_csv/routes.csv": (
            "#name1,name2,distance,forced_redirection,walk_probability\n"
            f"A,B,{km},0,{walk_p}\nB,D,{km},0,0\nB,E,{km + 40},0,{walk_p}\nD,E,{km + 20},0,0\n"),
        "input_csv/closures.csv": "#closure_type,name1,name2,closure_start,closure_end\n",
        "input_csv/conflicts.csv": "#Day,A\n" + "".join(f"{d},1\n" for d in range(days)),
        "input_csv/sim_period.csv": f"StartDate,2020-01-01\nLength,{days}\n",
        "source_data/data_layout.csv": "total,refugees.csv\nD,d.csv\nE,e.csv\n",
        "source_data/refugees.csv": (f"Date,Refugee_numbers\n2020-01-01,{d0 + e0}\n"
                                     f"2020-01-{days + 1:02d},{d0 + e0 + 400}\n"),
        "source_data/d.csv": f"2020-01-01,{d0}\n2020-01-20,{d0}\n",
        "source_data/e.csv": f"2020-01-01,{e0}\n2020-01-20,{e0 + 400}\n",
        "simsetting.yml": (
            "spawn_rules:\n  insert_day0: True\n"
            f"move_rules:\n  max_move_speed: {speed}\n  awareness_level: 1\n"
            f"  camp_movechance: 0.3\n  capacity_buffer: 0.5\n{extra_moves}"
            "optimisations:\n  hasten: 1\n"),
    }
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def quiet_gpu(plan, seed: int, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return gpu.run_agents_gpu(plan, seed=seed, threads_per_block=kw.pop("tpb", TPB), **kw)


def assert_same(a, b) -> None:
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)


@pytest.fixture(scope="module")
def mini_plan(tmp_path_factory):
    return compile_plan(load_scenario(write_mini_flee(tmp_path_factory.mktemp("mini"))))


@pytest.fixture(scope="module")
def open_mini_plan(tmp_path_factory):
    """The mini case (closures, chaining) with its capped camp opened: no capacity anywhere, so the
    GPU runs its days fused."""
    locs = MINI["input_csv/locations.csv"].replace("camp,,2000", "camp,,0")
    folder = write_mini_flee(tmp_path_factory.mktemp("open"), {"input_csv/locations.csv": locs})
    return compile_plan(load_scenario(folder))


@pytest.fixture(scope="module")
def slow_links_plan(tmp_path_factory):
    # links of 500 km at 100 km/day: nobody arrives within the 4 days, so pass B makes no decision
    folder = write_camps(tmp_path_factory.mktemp("slow"), km=500, speed=100.0, days=4)
    return compile_plan(load_scenario(folder))


@pytest.fixture(scope="module")
def rush_plan(tmp_path_factory):
    folder = write_camps(tmp_path_factory.mktemp("rush"), km=60, speed=200.0, days=4)
    return compile_plan(load_scenario(folder))


def test_device_uniforms_are_the_bits_of_rng_py():
    idx = np.array([0, 1, 2, 41, 8191, 8192, 123_456_789, 2**31 - 1, 2**40 + 7], np.int64)
    sub = np.array([0, 1, 0, 7, 0, 3, 100_000, 1, 2], np.int64)
    for seed in (0, 1, 2**63 + 5):
        for day, stream in ((0, Stream.MOVE), (17, Stream.ROUTE), (1999, Stream.MOVE_SKIP)):
            prefix = np.array([gpu.key_prefix(int(seed_words(seed)), day, stream)], np.uint64)
            out = np.zeros(len(idx))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                gpu.uniforms_kernel[1, 32](prefix, idx, sub, out)
            want = np.array([uniform(seed_words(seed), day, stream, int(i), int(s))
                             for i, s in zip(idx, sub, strict=True)])
            assert out.tobytes() == want.tobytes(), (seed, day, stream)


def test_day_prefixes_follow_the_key_chain():
    pre = gpu.day_prefixes(7, 3)
    assert pre.dtype == np.uint64 and pre.shape == (17,)
    assert len(set(pre.tolist())) == 17  # one per stream, all different
    assert int(pre[Stream.WALK]) == gpu.key_prefix(7, 3, Stream.WALK)
    assert gpu.key_prefix(7, 3, Stream.WALK) != gpu.key_prefix(7, 4, Stream.WALK)


def test_mini_case_gives_the_cpu_engines_numbers(mini_plan):
    # conflicts, spawns, link and location closures, same-day chaining; no capacity binds
    cpu = run_agents(mini_plan, seed=3)
    dev = quiet_gpu(mini_plan, 3, check=True)
    assert cpu.rounds.max() >= 2  # chained decisions happened
    assert_same(cpu, dev)
    assert dev.gpu_stats["chain_people"] >= cpu.rounds.sum() > 0  # ≥ one person per round
    assert dev.population[-1].sum() + dev.travellers[-1].sum() == mini_plan.total_agents


def test_bernoulli_draws_give_the_cpu_engines_numbers(mini_plan, slow_links_plan):
    # draws "bernoulli": one draw per person in pass A, no scan; the same numbers as the CPU engine
    # with the same draws (mini: direct pass A on the device; slow links: capped movers replayed)
    for plan, seed in ((mini_plan, 3), (slow_links_plan, 1)):
        cpu = run_agents(plan, seed=seed, draws="bernoulli")
        dev = quiet_gpu(plan, seed, check=True, draws="bernoulli")
        assert dev.gpu_stats["draws"] == "bernoulli"
        assert_same(cpu, dev)
        assert not np.array_equal(run_agents(plan, seed=seed).departures, cpu.departures)
    assert dev.gpu_stats["capped_movers"] > 0


def test_capped_camp_pass_a_gives_the_cpu_engines_numbers(slow_links_plan):
    for seed in (1, 2):
        cpu = run_agents(slow_links_plan, seed=seed)
        dev = quiet_gpu(slow_links_plan, seed, check=True)
        st = dev.gpu_stats
        # the case exercises what it claims: capped movers replayed, multipliers changed by
        # them, and later movers deferred because they read a changed multiplier
        assert st["capped_movers"] > 0 and st["capacity_changes"] > 0
        assert st["deferred_movers"] > 0 and not st["direct_pass_a"]
        assert cpu.rounds.max() == 0
        assert_same(cpu, dev)


def test_capacity_binding_in_pass_b_gives_the_cpu_engines_numbers(rush_plan):
    # short links and 200 km/day: arrivals decide again the same day next to a camp in its buffer
    # zone, so pass B's choices depend on Flee's serial order (replayed on the host)
    a = quiet_gpu(rush_plan, 5, tpb=32, shared_tally=True, check=True)
    assert a.rounds.max() >= 2 and a.gpu_stats["deferred_chains"] > 0
    assert a.gpu_stats["capacity_changes"] > 0
    cpu = run_agents(rush_plan, seed=5)
    assert_same(cpu, a)
    np.testing.assert_array_equal(cpu.rounds, a.rounds)


def test_walking_and_short_stints_give_the_cpu_engines_numbers(tmp_path):
    # start_on_foot (first link at walk speed), walk_probability draws, avoid_short_stints
    # (ForceTownMove from the two-day running distance): per-person float columns on the device
    folder = write_camps(tmp_path / "walk", km=40, speed=120.0, days=4, walk_p=0.5,
                         extra_moves="  max_walk_speed: 35.0\n  start_on_foot: True\n"
                                     "  avoid_short_stints: True\n")
    plan = compile_plan(load_scenario(folder))
    assert plan.params["avoid_short_stints"] and plan.params["start_on_foot"]
    assert plan.link_walk_p.max() == 0.5
    cpu = run_agents(plan, seed=4)
    dev = quiet_gpu(plan, 4, check=True)
    assert cpu.rounds.max() >= 2
    assert_same(cpu, dev)
    np.testing.assert_array_equal(cpu.rounds, dev.rounds)


def test_layout_does_not_change_the_result(rush_plan):
    a = quiet_gpu(rush_plan, 5, tpb=32, shared_tally=True)
    b = quiet_gpu(rush_plan, 5, tpb=64, shared_tally=False)
    assert a.gpu_stats["shared_tally"] and not b.gpu_stats["shared_tally"]
    assert_same(a, b)
    np.testing.assert_array_equal(a.rounds, b.rounds)
    c = quiet_gpu(rush_plan, 6, tpb=32)
    assert not np.array_equal(a.population, c.population)  # another seed, another run
    # one looping block, and
    # profiling (waits after each phase) give the same numbers too
    d = quiet_gpu(rush_plan, 5, tpb=32, blocks=1, profile=True)
    assert d.gpu_stats["max_blocks"] == 1
    assert_same(a, d)
    np.testing.assert_array_equal(a.rounds, d.rounds)
    phases = d.gpu_stats["phase_s"]
    assert {"spawn", "host_tables", "pass_a", "advance", "chain", "end_of_day"} <= set(phases)
    assert all(v >= 0.0 for v in phases.values()) and "phase_s" not in a.gpu_stats


def test_simulate_backend_gpu_labels_the_run(slow_links_plan, mini_plan):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = simulate(slow_links_plan, seed=2, backend="gpu", engine="agents", check=True)
    ref = simulate(slow_links_plan, seed=2, engine="agents")
    assert res.manifest["backend"] == "gpu" and res.manifest["engine"] == "agents"
    assert res.manifest["gpu"]["device"]
    np.testing.assert_array_equal(res.dataset["population"].values, ref.dataset["population"].values)
    with pytest.raises(ValueError, match="agent engine"):
        simulate(mini_plan, seed=2, backend="gpu", engine="cohorts")
    with pytest.raises(ValueError, match="unknown backend"):
        simulate(mini_plan, seed=2, backend="tpu")


def test_no_device_is_a_clear_error(mini_plan, monkeypatch, tmp_path):
    monkeypatch.setattr(gpu, "gpu_available", lambda: False)
    with pytest.raises(gpu.GpuUnavailable, match="no CUDA device"):
        gpu.run_agents_gpu(mini_plan, seed=1)
    from typer.testing import CliRunner

    from corredor.cli import app

    folder = write_mini_flee(tmp_path / "case")
    r = CliRunner().invoke(app, ["run", str(folder), "--backend", "gpu", "--out", str(tmp_path / "o")])
    assert r.exit_code == 2
    assert "no CUDA device" in r.output
    r = CliRunner().invoke(app, ["run", str(folder), "--backend", "tpu", "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "unknown backend" in r.output


def test_path_steps_name_each_steps_first_link(mini_plan, open_mini_plan):
    # the device's interleaved path table: the node, then the first link in out-list order from
    # the node before it (what next_link returns while that link is open); −1 at a path's start
    for plan in (mini_plan, open_mini_plan):
        st = gpu._path_steps(plan.path_node_ptr, plan.path_nodes, plan.out_ptr, plan.out_link,
                             plan.link_to)
        np.testing.assert_array_equal(st[0::2], plan.path_nodes)
        steps = 0
        for p in range(len(plan.path_node_ptr) - 1):
            lo, hi = int(plan.path_node_ptr[p]), int(plan.path_node_ptr[p + 1])
            assert st[2 * lo + 1] == -1
            for k in range(lo + 1, hi):
                a, b = plan.path_nodes[k - 1], plan.path_nodes[k]
                out = plan.out_link[plan.out_ptr[a]:plan.out_ptr[a + 1]]
                first = [lk for lk in out if plan.link_to[lk] == b][:1]
                assert [st[2 * k + 1]] == (first or [-1])
                steps += 1
        assert steps > 0


@pytest.mark.skipif(not gpu.simulator_enabled(), reason="the simulator's barrier only")
def test_simulator_barrier_holds_every_running_thread_and_raises_a_threads_error():
    # fast_cudasim's barrier: nobody passes syncthreads before every thread still running has
    # written; a thread that has returned holds nobody; syncthreads_count sees every vote; an
    # exception in one thread is the launch's error (the others' barriers abort)

    @cuda.jit
    def rotate(out, counts, early):
        buf = cuda.shared.array(64, np.int64)
        t = cuda.threadIdx.x
        if t < early:
            return
        buf[t] = t * t
        cuda.syncthreads()
        out[t] = buf[(t + 1) % 64] if (t + 1) % 64 >= early else -1
        counts[t] = cuda.syncthreads_count(t % 3 == 0)
        if t == 40 and counts[0] < 0:
            raise ValueError("thread 40 fails")

    out, counts = np.zeros(64, np.int64), np.zeros(64, np.int64)
    for early in (0, 5):
        rotate[1, 64](out, counts, early)
        nxt = (np.arange(early, 64) + 1) % 64
        np.testing.assert_array_equal(out[early:], np.where(nxt >= early, nxt * nxt, -1))
        assert (counts[early:] == sum(t % 3 == 0 for t in range(early, 64))).all()
    counts[0] = -1
    with pytest.raises(ValueError, match="thread 40 fails"):
        rotate[1, 64](out, counts, 1)  # thread 0 returns early: counts[0] stays -1


def test_threads_per_block_must_be_a_power_of_two(mini_plan):
    with pytest.raises(ValueError, match="power of two"):
        gpu.run_agents_gpu(mini_plan, seed=1, threads_per_block=48)


@pytest.mark.skipif(gpu.simulator_enabled(), reason="the simulator does not compile for a device")
def test_kernels_compile_for_sm90():
    # typing and lowering for a real device (NVVM needed, a GPU not); the simulator cannot check it
    try:
        sizes = gpu.compile_ptx_all((9, 0))
    except Exception as exc:  # noqa: BLE001 - no NVVM here: nothing to check
        if "NVVM" in str(exc) or "nvvm" in str(exc) or "libnvrtc" in str(exc):
            pytest.skip(f"no NVVM: {exc}")
        raise
    assert {"movers", "movers_bernoulli", "pass_a", "advance", "chain", "spawn", "fused"} <= set(sizes)


@pytest.mark.parametrize("draws", ["gaps", "bernoulli"])
@pytest.mark.parametrize("cap_d", [0, 60])
def test_several_chunks_per_block_give_the_cpu_engines_numbers(tmp_path, cap_d, draws):
    # more people than one CHUNK (8,192): the CPU's per-chunk draws, one block looping over both
    # chunks and the rounds' compacted frontier; cap_d 0 = no capacity anywhere,
    # so pass A runs on the device alone ("direct"); 60 = capped movers replayed on the host
    folder = write_camps(tmp_path / "big", km=60, speed=200.0, days=1, cap_d=cap_d, e0=8400)
    plan = compile_plan(load_scenario(folder))
    assert plan.total_agents > 8192
    cpu = run_agents(plan, seed=2, draws=draws)
    dev = quiet_gpu(plan, 2, blocks=1, check=True, draws=draws)
    assert dev.gpu_stats["direct_pass_a"] == (cap_d == 0)
    assert cpu.rounds.max() >= 1
    assert_same(cpu, dev)
    np.testing.assert_array_equal(cpu.rounds, dev.rounds)


def test_days_ahead_stage_each_tables_copy_until_its_day_is_settled():
    # an asynchronous copy reads its page-locked source when the stream reaches it: a day's slot
    # holds one copy of a table, the values of that day, and is free again once the day is
    # settled (AHEAD_LAG + 1 slots)
    dev = cuda.to_device(np.zeros(4))
    days = gpu._DaysAhead([dev], n_tally_ext=6, n_spawn=4)
    assert days.slots == gpu.AHEAD_LAG + 1
    for row in days.rows(0):  # what the slot's last day left there
        row.copy_to_device(np.full(row.shape, 7, row.dtype))
    days.begin(0)
    days.send(dev, np.arange(4.0), 0)
    with pytest.raises(RuntimeError, match="twice in one day"):
        days.send(dev, np.ones(4), 0)
    days.end(0)
    tl, sp, fs = days.wait(0)
    assert not tl.any() and not sp.any() and not fs.any()  # rows zeroed by begin
    np.testing.assert_array_equal(dev.copy_to_host(), np.arange(4.0))
    days.send(dev, np.ones(4), days.slots)  # the slot of a settled day
    np.testing.assert_array_equal(days.stage[id(dev)][0], np.ones(4))


@pytest.fixture(scope="module")
def walk_plan(tmp_path_factory):
    """Open camps, walking on some links, start_on_foot and avoid_short_stints: the fused
    kernel's ForceTownMove, walking draws and km done today."""
    folder = write_camps(tmp_path_factory.mktemp("walk"), km=40, speed=120.0, days=4, cap_d=0,
                         walk_p=0.5, extra_moves="  max_walk_speed: 35.0\n  start_on_foot: True\n"
                                                 "  avoid_short_stints: True\n")
    return compile_plan(load_scenario(folder))


@pytest.mark.parametrize("draws", ["gaps", "bernoulli"])
def test_fused_kernel_gives_the_queued_rounds_numbers(open_mini_plan, walk_plan, draws):
    # without capacities (the default there) the rest of the day runs in one kernel, each person
    # through all of their same-day rounds (pass A's steps too, and with bernoulli its draws): the CPU engine's
    # numbers, and those of the queued rounds, including rounds and the people in them
    for plan, seed in ((open_mini_plan, 3), (walk_plan, 4)):
        assert not (plan.capacity >= 1).any()
        cpu = run_agents(plan, seed=seed, draws=draws)
        fused = quiet_gpu(plan, seed, check=True, draws=draws)
        queued = quiet_gpu(plan, seed, draws=draws, fuse=False)
        assert fused.gpu_stats["fused"] and not queued.gpu_stats["fused"]
        assert fused.bytes_per_person == 18 + (8 if plan.params["avoid_short_stints"] else 0)
        assert queued.bytes_per_person == fused.bytes_per_person + 32  # lists it did not allocate
        assert cpu.rounds.max() >= 2
        for dev in (fused, queued):
            assert_same(cpu, dev)
            np.testing.assert_array_equal(cpu.rounds, dev.rounds)
        assert fused.gpu_stats["chain_people"] == queued.gpu_stats["chain_people"] > 0
    one = quiet_gpu(plan, seed, draws=draws, blocks=1, profile=True, ahead=True)
    assert_same(cpu, one)
    assert not one.gpu_stats["ahead"]  # profile waits for the device after every phase
    ph = one.gpu_stats["phase_s"]
    assert ph["advance"] == 0 and ph["fused"] > ph["chain"]  # chain: only its (empty) lap


@pytest.mark.parametrize("case,draws", [("mini", "gaps"), ("mini", "bernoulli"),
                                        ("walk", "bernoulli")])
def test_fused_days_run_ahead_give_the_cpu_engines_numbers(request, case, draws):
    # days queued ahead on one stream, the host settling each AHEAD_LAG days later: the CPU
    # engine's numbers, rounds and same-day people, with people created after day 0 (the mini
    # case has closures, the walking case avoid_short_stints' recent travel)
    plan = request.getfixturevalue("open_mini_plan" if case == "mini" else "walk_plan")
    seed = 3 if case == "mini" else 4
    cpu = run_agents(plan, seed=seed, draws=draws)
    ahead = quiet_gpu(plan, seed, draws=draws, ahead=True)
    assert ahead.gpu_stats["ahead"] and ahead.gpu_stats["fused"]
    assert cpu.spawned[1:].sum() > 0 and plan.n_days > gpu.AHEAD_LAG + 1
    assert_same(cpu, ahead)
    np.testing.assert_array_equal(cpu.rounds, ahead.rounds)
    assert ahead.gpu_stats["chain_people"] > 0


@pytest.mark.parametrize("case,draws,checks", [
    ("mini", "bernoulli", True), ("mini", "bernoulli", False), ("mini", "gaps", False),
    ("mini", "gaps", True), ("walk", "bernoulli", False)])
def test_fused_kernel_builds_give_the_cpu_engines_numbers(request, monkeypatch, case, draws,
                                                          checks):
    # the fused kernel built with the checks for capped places and full camps (which cannot
    # hold without capacities; gaps marks its movers, bernoulli draws them), and the default
    # build on two blocks with shared tallies: the same people, rounds and tallies as the CPU
    # engine
    plan = request.getfixturevalue("open_mini_plan" if case == "mini" else "walk_plan")
    cpu = run_agents(plan, seed=5, draws=draws)
    if checks:
        monkeypatch.setattr(gpu, "_KERNELS", {True: gpu._make_kernels(True, None,
                                                                      capacity_checks=True)})
    dev = quiet_gpu(plan, 5, draws=draws, shared_tally=True)
    assert dev.gpu_stats["fused"] and dev.gpu_stats["fused_blocks"] == 2  # two blocks
    assert_same(cpu, dev)
    np.testing.assert_array_equal(cpu.rounds, dev.rounds)
    assert dev.gpu_stats["chain_people"] > 0
    assert cpu.travellers[:-1].sum() > 0  # entries of people on a link overnight, too


@pytest.mark.parametrize("case,draws,links", [
    ("mini", "gaps", True), ("walk", "bernoulli", True),
    ("mini", "gaps", False), ("walk", "bernoulli", False)])
def test_fused_kernel_link_tallies_give_the_cpu_engines_numbers(request, monkeypatch, case,
                                                                draws, links):
    # the fused kernel's links tallied in global memory (the default: its shared histogram
    # holds the places' bins alone, launched with 2·n_loc of shared memory) or in the block's
    # histogram: the CPU engine's numbers, people on links overnight among them, on two blocks
    plan = request.getfixturevalue("open_mini_plan" if case == "mini" else "walk_plan")
    monkeypatch.setattr(gpu, "_KERNELS", {True: gpu._make_kernels(
        True, None, link_tally_global=links)})
    cpu = run_agents(plan, seed=5, draws=draws)
    dev = quiet_gpu(plan, 5, draws=draws, shared_tally=True)
    assert dev.gpu_stats["fused"] and dev.gpu_stats["fused_blocks"] == 2
    assert gpu._KERNELS[True][6].link_tally_global == links
    assert_same(cpu, dev)
    np.testing.assert_array_equal(cpu.rounds, dev.rounds)
    assert cpu.travellers[:-1].sum() > 0


def test_device_check_builds_size_the_queue_and_give_the_library_back(open_mini_plan,
                                                                        monkeypatch):
    # benchmarks/gpu_device_check._fused_kernels: a build's threads a block come with the queue
    # the library would give them (2 entries a thread: smaller for smaller blocks, larger for
    # larger), and the library's sizes and kernels are back after the build, also when the
    # build or the run in it fails. The run inside is also the one test of a fused day with
    # threads_per_block left out (the others name 32): its kernels in blocks of TPB_FUSED
    # threads (64 here; 1,024 is slow in the simulator), the queue at its bound
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import gpu_device_check as dc

    lib = (gpu.TPB_FUSED, gpu._QUEUE, gpu.FUSED_WAVES, gpu.SPAWN_BINS)
    kernels = dict(gpu._KERNELS)

    def back() -> None:
        assert (gpu.TPB_FUSED, gpu._QUEUE, gpu.FUSED_WAVES, gpu.SPAWN_BINS) == lib
        assert gpu._KERNELS.keys() == kernels.keys()
        assert all(gpu._KERNELS[k] is kernels[k] for k in kernels)

    cpu = run_agents(open_mini_plan, seed=5, draws="bernoulli")
    with dc._fused_kernels({"tpb": 64, "waves": 1, "spawn_bins": 0}):
        assert (gpu.TPB_FUSED, gpu._QUEUE, gpu.FUSED_WAVES, gpu.SPAWN_BINS) == (64, 128, 1, 0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            dev = gpu.run_agents_gpu(open_mini_plan, seed=5, draws="bernoulli")
        assert_same(cpu, dev)  # the queue at its bound, 2 entries a thread; spawn's atomics
        assert dev.gpu_stats["threads_per_block_flat"] == 64 and dev.gpu_stats["fused"]
    back()
    with dc._fused_kernels({"tpb": 2 * lib[0]}):
        assert gpu._QUEUE == 4 * lib[0]
    back()
    with pytest.raises(RuntimeError, match="in the run"), dc._fused_kernels({"tpb": 64}):
        raise RuntimeError("in the run")
    back()

    def fails(*a, **k):
        raise RuntimeError("in the build")

    monkeypatch.setattr(gpu, "_make_kernels", fails)
    with pytest.raises(RuntimeError, match="in the build"), dc._fused_kernels({"tpb": 128}):
        pass
    back()
    with dc._fused_kernels({"waves": 3}):  # the library's own kernels (nothing is built)
        assert gpu.FUSED_WAVES == 3 and gpu._QUEUE == lib[1]
    back()


def test_device_check_names_the_card_and_says_when_it_is_not_the_targets(monkeypatch):
    # issue 8's target is stated for an H100; the device lent may be an H200, whose figures
    # the scripts must call H200 figures (benchmarks/gpu_device_check.card_note)
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import gpu_device_check as dc

    assert dc.card("NVIDIA H100 80GB HBM3") == "H100" and dc.card_note("NVIDIA H100 NVL") == ""
    assert dc.device_line("NVIDIA H100 80GB HBM3") == "NVIDIA H100 80GB HBM3"
    assert dc.card("NVIDIA H200") == "H200" and dc.card("NVIDIA GH200 480GB") == "GH200"
    assert dc.card_note("NVIDIA H200").startswith("H200 figures, not H100 ones")
    assert dc.device_line("NVIDIA H200").startswith("NVIDIA H200 (H200 figures, not H100 ones")
    assert dc.card_note("NVIDIA A100-SXM4-80GB").startswith("A100 figures")
    assert "not known to be an H100" in dc.card_note("unknown CUDA device")
    assert "dry run" in dc.card_note("numba CUDA simulator")


def test_spawn_table_gives_the_places_the_cpu_engine_draws():
    # the spawn kernel searches only the places where the running sum of weights rises
    # (_spawn_table; mirrored here) and must give agents._spawn_chunk's place for every target:
    # zero weights, a weight too small to change the sum, a negative weight (every place kept),
    # targets at and above the total (the fallback)
    import bisect

    rng = np.random.default_rng(5)
    cases = [np.where(rng.random(200) < 0.9, 0.0, rng.random(200) * 1e4) for _ in range(20)]
    cases += [np.array([0.0, 1e20, 1.0, 0.0, 3e4, 0.0]), np.array([0.0, 0.0, 2.0]),
              np.array([5.0, -1.0, 0.0, 2.0, 0.0]), np.array([3.0, 0.0, 0.0])]
    for w in cases:
        full = np.cumsum(w)
        cum, loc = np.zeros(w.size), np.zeros(w.size, np.int32)
        total, k, fallback = gpu._spawn_table(w, cum, loc)
        assert total == full[-1]
        if (w >= 0).all():
            assert k == np.count_nonzero(np.diff(np.concatenate([[0.0], full])) > 0) < w.size
        for target in (*(rng.random(300) * total), 0.0, total, np.nextafter(total, np.inf)):
            want = int(np.searchsorted(full, target, side="right"))
            if want >= w.size:  # agents._spawn_chunk's fallback
                want = next(j for j in range(w.size - 1, -1, -1)
                            if j == 0 or full[j] > full[j - 1])
            m = bisect.bisect_right(list(cum[:k]), target)
            assert (int(loc[m]) if m < k else fallback) == want, (w, target)


@pytest.mark.parametrize("shared", [True, False])
def test_spawn_kernel_counts_everyone_at_the_place_it_draws(shared):
    # the spawn kernel's tallies (arrivals row) must count exactly the people it placed: per thread
    # in registers while the table has fewer than SPAWN_BINS entries (bin n: the fallback, targets
    # at or above ΣW), else an atomic a person; every person at agents._spawn_chunk's place, and
    # nobody outside [first, last) touched
    import bisect

    spawn = gpu._make_kernels(shared)[0]
    rng = np.random.default_rng(3)
    n_loc, first, last = 40, 7, 1500
    seed = seed_words(4)
    prefix = gpu.day_prefixes(int(seed), 0)
    seen_binned = seen_atomic = seen_fallback = False
    for n_pos, scale in ((3, 1.0), (12, 1.0), (gpu.SPAWN_BINS - 1, 1.0), (gpu.SPAWN_BINS, 1.0),
                         (30, 1.0), (5, 1.02)):
        w = np.zeros(n_loc)
        w[rng.choice(n_loc, n_pos, replace=False)] = rng.random(n_pos) + 0.01
        cum, loc = np.zeros(n_loc), np.zeros(n_loc, np.int32)
        total, k, fallback = gpu._spawn_table(w, cum, loc)
        wsum = total * scale  # scale > 1: some targets at or above ΣW take the fallback
        where = np.full(last, -7, np.int32)
        tally = np.zeros(2 * n_loc, np.int32)
        spawn[2, TPB, 0, 2 * n_loc * 4 if shared else 0](
            first, last, prefix, cum, loc, k, fallback, wsum, where, tally, n_loc)
        u = np.array([uniform(seed, 0, Stream.SPAWN, i) for i in range(first, last)])
        want = np.empty(last - first, np.int32)
        for j, target in enumerate(u * wsum):
            m = bisect.bisect_right(list(cum[:k]), target)
            want[j] = loc[m] if m < k else fallback
            seen_fallback |= m == k
        assert (where[:first] == -7).all() and np.array_equal(where[first:], want)
        assert (tally[:n_loc] == 0).all()
        assert np.array_equal(tally[n_loc:], np.bincount(want, minlength=n_loc))
        seen_binned |= k < gpu.SPAWN_BINS
        seen_atomic |= k >= gpu.SPAWN_BINS
    assert seen_binned and seen_atomic and seen_fallback


def test_route_choice_on_the_device_picks_the_paths_the_rules_pick():
    # _choose_path's weighted loop reads cum alone (route_tables gives a closed path no weight);
    # called from a kernel (so on a device too: CORREDOR_GPU_TESTS=device) on route_tables' own
    # output, against rules.routes: closed paths, zero weights (empty camps, capacity
    # multipliers of 0), places with no open path or one, u from 0 up to just below 1 (places
    # of 0 to 10 paths)
    from corredor.engine.rules.routes import choose_path, route_tables

    @cuda.jit
    def pick(origin, us, ptr, valid, cum, tot, nvalid, out):
        k = cuda.grid(1)
        while k < out.shape[0]:
            out[k] = gpu._choose_path(origin[k], us[k], ptr, valid, cum, tot, nvalid)
            k += cuda.gridsize(1)

    rng = np.random.default_rng(11)
    n_loc = 300
    sizes = rng.integers(0, 11, n_loc)
    ptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    n = int(ptr[-1])
    dest = rng.integers(0, n_loc, n)
    inv_dist = rng.random(n)
    home = np.where(rng.random(n) < 0.5, 1.0, 0.0)
    valid = rng.random(n) < 0.7
    attract = np.where(rng.random(n_loc) < 0.3, 0.0, rng.random(n_loc))
    capmult = np.where(rng.random(n_loc) < 0.2, 0.0, 1.0)
    cum, tot, nvalid = np.zeros(n), np.zeros(n_loc), np.zeros(n_loc, np.int64)
    checked = 0
    origin = np.repeat(np.arange(n_loc), 10)
    us = np.concatenate([[*rng.random(8), 0.0, np.nextafter(1.0, 0.0)] for _ in range(n_loc)])
    for softening in (0.0, 10.0):
        route_tables(ptr, dest, inv_dist, home, valid, attract, capmult, softening, 1.0, cum,
                     tot, nvalid)
        got = np.full(origin.size, -2, np.int64)
        pick[4, 64](origin, us, ptr, valid, cum, tot, nvalid, got)
        for k, (o, u) in enumerate(zip(origin, us, strict=True)):
            want = choose_path(o, u, ptr, valid, cum, tot, nvalid)
            assert got[k] == want, (o, u)
            checked += want >= 0 and tot[o] > 0.0
    assert checked > 1000  # the weighted loop, not only the uniform one and places without paths


@pytest.fixture(scope="module")
def aware_plan(tmp_path_factory):
    """The open mini case with awareness level 2 (paths of two and three places) and a second,
    parallel route from A to B: no capacity, so the GPU runs its days fused."""
    files = {"input_csv/locations.csv": MINI["input_csv/locations.csv"].replace("camp,,2000", "camp,,0"),
             "input_csv/routes.csv": MINI["input_csv/routes.csv"] + "A,B,130,0\n",
             "simsetting.yml": MINI["simsetting.yml"].replace("awareness_level: 1",
                                                              "awareness_level: 2")}
    return compile_plan(load_scenario(write_mini_flee(tmp_path_factory.mktemp("aware"), files)))


def test_first_steps_are_the_steps_looked_up_on_the_path(aware_plan):
    # _first_steps: a path's first link (as its interleaved nodes and rules.routes.next_link
    # give it) and whether that step is its last; _open_first_steps: 0 where that link is closed
    from corredor.engine.rules.routes import next_link

    p = aware_plan
    steps = gpu._path_steps(p.path_node_ptr, p.path_nodes, p.out_ptr, p.out_link, p.link_to)
    first = gpu._first_steps(p.path_ptr, p.path_node_ptr, steps)
    n_nodes = np.diff(p.path_node_ptr)
    assert set(n_nodes.tolist()) == {2, 3} and (first != 0).all()
    link_open = np.ones(p.n_links, np.bool_)
    for o in range(p.n_locations):
        for q in range(p.path_ptr[o], p.path_ptr[o + 1]):
            k = p.path_node_ptr[q]
            lk = next_link(o, p.path_nodes[k + 1], p.out_ptr, p.out_link, p.link_to, link_open)
            assert lk >= 0 and p.path_nodes[k] == o
            assert first[q] == 2 * (lk + 1) + (n_nodes[q] == 2)
    used = set(((first >> 1) - 1).tolist())
    pairs = list(zip(p.link_from.tolist(), p.link_to.tolist(), strict=True))
    twins = [lk for lk, ab in enumerate(pairs) if pairs.count(ab) == 2]
    assert len(twins) == 4 and len(used & set(twins)) == 2  # of parallel links, the first only
    link_open[[0, 3]] = False
    today = np.empty_like(first)
    gpu._open_first_steps(first, link_open, today)
    closed = ~link_open[(first >> 1) - 1]
    assert closed.any() and not closed.all()
    np.testing.assert_array_equal(today, np.where(closed, 0, first))


@pytest.mark.parametrize("draws", ["gaps", "bernoulli"])
def test_paths_of_several_steps_give_the_cpu_engines_numbers(aware_plan, draws):
    # a path chosen takes its first step from _first_steps (the fused kernel), its later steps
    # from the path's nodes on the days after; the parallel route to B is never taken while the
    # first one is open
    for seed in (1, 2):
        cpu = run_agents(aware_plan, seed=seed, draws=draws)
        dev = quiet_gpu(aware_plan, seed, check=True, draws=draws, shared_tally=True)
        assert dev.gpu_stats["fused"] and cpu.rounds.max() >= 2
        assert_same(cpu, dev)
        np.testing.assert_array_equal(cpu.rounds, dev.rounds)


def test_fused_kernel_is_refused_with_capacities_and_stops_at_max_rounds(slow_links_plan,
                                                                          open_mini_plan,
                                                                          monkeypatch):
    with pytest.raises(ValueError, match="without capacities"):
        quiet_gpu(slow_links_plan, 1, fuse=True)
    # a chain longer than MAX_ROUNDS is the same error, on the same day, both ways
    cpu = run_agents(open_mini_plan, seed=3)
    first = int(np.flatnonzero(cpu.rounds >= 2)[0])
    monkeypatch.setattr(gpu, "MAX_ROUNDS", 1)
    for fuse, ahead in ((True, False), (False, False), (True, True)):
        with pytest.raises(gpu.EngineError, match=f"day {first}: same-day travel did not end"):
            quiet_gpu(open_mini_plan, 3, fuse=fuse, ahead=ahead)


def test_fused_grid_is_whole_waves_of_the_blocks_the_device_holds(monkeypatch):
    # on hardware the fused kernel's grid is FUSED_WAVES × the blocks the device holds at once,
    # asked of the compiled kernel; before it is compiled (or if ambiguous) the caller keeps its
    # default grid
    class Compiled:
        def max_cooperative_grid_blocks(self, tpb, smem):
            return 132 * (5 if smem <= 28 * 1024 else 4) if tpb == 256 else 0

    class Dispatcher:
        overloads: dict = {}

    monkeypatch.setattr(gpu, "simulator_enabled", lambda: False)
    k = Dispatcher()
    assert gpu._resident_grid(k, 256, 24 * 1024) is None  # not compiled yet
    k.overloads = {("sig",): Compiled()}
    assert gpu._resident_grid(k, 256, 24 * 1024) == 660
    assert gpu._resident_grid(k, 256, 40 * 1024) == 528
    assert gpu._resident_grid(k, 128, 24 * 1024) is None  # the driver says none fit
    k.overloads = {("a",): Compiled(), ("b",): Compiled()}
    assert gpu._resident_grid(k, 256, 24 * 1024) is None  # which one runs is not known


def test_day_0_runs_the_fused_kernel_on_the_grid_of_the_other_days(open_mini_plan, monkeypatch):
    # with the fused kernel compiled already (here: the device said 1 resident block), every
    # day's launch, day 0's too, is FUSED_WAVES × that, not the looping kernels' max_blocks (2 in
    # the simulator); the same numbers as the CPU engine
    lib = gpu._kernels(True)
    grids: list[int] = []

    class Spy:
        def __init__(self, k):
            self.k = k

        def __getattr__(self, name):
            return getattr(self.k, name)

        def __getitem__(self, config):
            grids.append(config[0])
            return self.k[config]

    monkeypatch.setattr(gpu, "_KERNELS", {True: (*lib[:6], Spy(lib[6]))})
    monkeypatch.setattr(gpu, "_resident_grid", lambda kernel, tpb, smem: 1)
    monkeypatch.setattr(gpu, "FUSED_WAVES", 3)
    cpu = run_agents(open_mini_plan, seed=5, draws="bernoulli")
    dev = quiet_gpu(open_mini_plan, 5, draws="bernoulli", shared_tally=True)
    assert len(grids) == int((cpu.alive > 0).sum()) > 1 and set(grids) == {3}  # (nobody: no launch)
    assert dev.gpu_stats["fused_blocks"] == 3
    assert_same(cpu, dev)


def test_a_run_the_device_cannot_hold_is_refused_with_the_hasten_that_fits(mini_plan, monkeypatch):
    # int32 person indices (and the fused kernel's read position) bound the people; free device
    # memory too: refused before anything is allocated, with a hasten that fits, as on the CPU
    n = mini_plan.total_agents
    monkeypatch.setattr(gpu, "MAX_GPU_AGENTS", n // 3)
    h = -(-n // (n // 3)) * mini_plan.hasten  # the smallest whole factor that fits
    with pytest.raises(gpu.EngineError, match=rf"{n:,} agents.*use --hasten {h} or more"):
        quiet_gpu(mini_plan, 1)
    monkeypatch.setattr(gpu, "MAX_GPU_AGENTS", n)
    per = gpu.device_bytes_per_person(bool(mini_plan.params["avoid_short_stints"]))

    class Small:
        def get_memory_info(self):
            return (n * per / 2.5, 10 * n * per)

    monkeypatch.setattr(gpu.cuda, "current_context", lambda: Small())
    with pytest.raises(gpu.EngineError, match=rf"GPU.s free memory.*use --hasten {3 * mini_plan.hasten}"):
        quiet_gpu(mini_plan, 1)
