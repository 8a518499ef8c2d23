"""Where day 0 of the scale case goes: the fused kernel's build as given, at 1e8 people.

Prints the device first (its name; where it is not the H100 that issue 8's target is stated
for, that its figures are that card's: an H200's are H200 figures), then, per day, the wall
milliseconds of a plain run (`day_s`: days ahead, as timed by the device check), of a run with
`profile=True` split into phases (a device wait after each), and the day's departures and
same-day rounds: day 0 (everyone created in 10 places and leaving them) against the steady
days. The JSON keeps the device's name ("device", "card", "card_note").

    python3 benchmarks/gpu_day0.py [--people 1e8] [--days 20] [--build JSON] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=float, default=1e8)
    ap.add_argument("--days", type=int, default=20)
    ap.add_argument("--draws", default="bernoulli")
    ap.add_argument("--build", default="{}",
                    help="the fused kernel's build as JSON (gpu_device_check's BUILDS keys)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    import numba

    from corredor.engine.gpu import PHASES, device_name, gpu_available, run_agents_gpu
    from gpu_device_check import _fused_kernels, card, card_note, device_line, scale_plan

    if not gpu_available():
        sys.exit("no CUDA device (nor NUMBA_ENABLE_CUDASIM=1): nothing to measure")
    device = device_name()
    print(f"device: {device_line(device)}; numba {numba.__version__}", flush=True)

    build = json.loads(args.build)
    plan = scale_plan(int(args.people), args.days)
    warm = scale_plan(50_000, 3)
    with _fused_kernels(build):
        run_agents_gpu(warm, seed=0, draws=args.draws)  # compiled before the clocks
        plain = [run_agents_gpu(plan, seed=1, draws=args.draws) for _ in range(2)][-1]
        prof = run_agents_gpu(plan, seed=1, draws=args.draws, profile=True)
    ph = 1e3 * np.asarray(prof.gpu_stats["phase_day_s"])
    used = [j for j in range(len(PHASES)) if ph[:, j].any()]
    dep = np.asarray(plain.departures).sum(axis=1)
    print(f"build {build}: {plain.agent_steps / plain.loop_s:.3g} person-steps/s, "
          f"loop {1e3 * plain.loop_s:.1f} ms; profiled loop {1e3 * prof.loop_s:.1f} ms")
    print("day | plain ms | profiled ms | " + " | ".join(PHASES[j] for j in used)
          + " | departures | rounds")
    for d in range(plan.n_days):
        print(f"{d} | {1e3 * plain.day_s[d]:.2f} | {ph[d].sum():.2f} | "
              + " | ".join(f"{ph[d, j]:.2f}" for j in used)
              + f" | {int(dep[d]):,} | {int(plain.rounds[d])}")
    if args.json is not None:
        args.json.write_text(json.dumps({
            "device": device, "card": card(device), "card_note": card_note(device),
            "numba": numba.__version__, "draws": args.draws,
            "build": build, "people": int(plan.total_agents), "phases": [PHASES[j] for j in used],
            "plain_day_ms": (1e3 * plain.day_s).tolist(), "profile_ms": ph[:, used].tolist(),
            "departures": dep.tolist(), "rounds": np.asarray(plain.rounds).tolist(),
            "loop_s": plain.loop_s, "person_steps_per_s": plain.agent_steps / plain.loop_s,
        }, indent=1))


if __name__ == "__main__":
    main()
