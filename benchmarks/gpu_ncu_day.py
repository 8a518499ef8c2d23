"""One run of the fused kernel on the synthetic scale case, for Nsight Compute to profile a day.

    ncu --kernel-name regex:fused --launch-skip 2 --launch-count 1 --section ... \\
        python3 benchmarks/gpu_ncu_day.py [--people 1e7] [--days 4] [--draws bernoulli] \\
            [--lineinfo]

`--lineinfo` builds the fused kernel with a map from its instructions to the lines of
src/corredor/engine/gpu.py. In run 12, `--section SourceCounters` gave the excess sectors and
divergent branches. ncu's CLI source view (`--page source --print-source cuda --csv`) printed
the source without metrics there. Another way to get per-line stalls is to write a report
(`-o FILE`) and bring it back.
Run 11's numbers came from the same case at 1e7, without line info. Without flags it profiles
the library's build (since run 13: blocks of 1,024 threads within 32 registers, days ahead).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=float, default=1e7)
    ap.add_argument("--days", type=int, default=4)
    ap.add_argument("--draws", default="bernoulli")
    ap.add_argument("--lineinfo", action="store_true")
    args = ap.parse_args(argv)

    from corredor.engine import gpu
    from gpu_device_check import scale_plan

    if args.lineinfo:
        cap = None if gpu.simulator_enabled() else gpu.FUSED_MAX_REGISTERS  # the library's cap
        gpu._KERNELS[True] = gpu._make_kernels(True, cap, lineinfo=True)
    out = gpu.run_agents_gpu(scale_plan(int(args.people), args.days), seed=1, draws=args.draws)
    print(f"{int(args.people):,} people, {args.days} days, {args.draws}: "
          f"{out.agent_steps / out.loop_s:.3g} person-steps/s (fused: {out.gpu_stats['fused']})")


if __name__ == "__main__":
    main()
