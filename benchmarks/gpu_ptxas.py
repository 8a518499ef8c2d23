"""Registers, spills and occupancy of the GPU kernels for an H100 (sm_90), without a GPU.

The fused kernel's occupancy on an H100 was 50 %, bound by registers (60 a thread; Nsight Compute,
docs/performance.md run 8), and a machine with a GPU is rare here. NVIDIA's assembler gives the
same register counts without one: this script compiles every kernel to PTX (gpu.kernel_ptx,
numba-cuda with NVVM), assembles it with `ptxas -v -arch=sm_90`, and reports per kernel the
registers a thread, the bytes spilled to local memory, the stack frame, and the resident blocks
and occupancy an H100 multiprocessor allows for the launch's block size (registers, shared memory,
threads and blocks, whichever binds first). With `--caps`, the fused kernel again under
`-maxrregcount` caps (what numba-cuda's `max_registers` asks of the same assembler): how many
bytes each cap spills, the price of the occupancy it buys. Whether that pays is the device check's
to measure; this says what it costs to try.

Needs numba-cuda, NVVM and ptxas (the CUDA toolkit, or the nvidia-cuda-nvcc wheel), no GPU.
docs/measurements/gpu_ptxas_sm90.json came from this machine's CUDA 13.0 ptxas, with numba-cuda
0.30.4 and its NVVM installed beside the project (`pip install --target DIR numba-cuda
nvidia-cuda-nvcc-cu12 nvidia-cuda-nvrtc-cu12`, DIR on PYTHONPATH, and its nvidia/cuda_nvrtc/lib and
nvidia/cuda_nvcc/nvvm/lib64 on LD_LIBRARY_PATH). The device's compiler can differ by a few
registers (60 measured there where ptxas 13.0 gave 55); the device check prints its own counts.

    python benchmarks/gpu_ptxas.py [--ptxas PATH] [--nvdisasm PATH] [--builds]
        [--caps 32,40,48,56] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

#: An H100 (sm_90) multiprocessor: registers, threads, resident blocks, shared memory a
#: multiprocessor has for blocks, and the shared memory the CUDA runtime reserves per block.
SM90 = {"regs": 65536, "threads": 2048, "blocks": 32, "smem": 228 * 1024, "smem_reserved": 1024}
_REG_UNIT = 256  # registers are allocated per warp in units of 256


def find_ptxas(given: str | None) -> str:
    """ptxas from --ptxas, PATH, CUDA_HOME, or the nvidia-cuda-nvcc wheel beside numba-cuda."""
    if given:
        return given
    hit = shutil.which("ptxas")
    if hit:
        return hit
    cands = [Path(os.environ.get("CUDA_HOME", "/usr/local/cuda")) / "bin" / "ptxas"]
    for p in sys.path:
        cands.append(Path(p) / "nvidia" / "cuda_nvcc" / "bin" / "ptxas")
    for c in cands:
        if c.is_file():
            return str(c)
    raise SystemExit("ptxas not found: install the CUDA toolkit or the nvidia-cuda-nvcc wheel, "
                     "or give --ptxas PATH")


def sass_instructions(nvdisasm: str, cubin: Path) -> int:
    """Machine instructions (SASS) in a cubin, NOPs left out: nvdisasm's listing, counted. A
    static count (each instruction once, however often it runs), for comparing builds."""
    done = subprocess.run([nvdisasm, "-c", str(cubin)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"nvdisasm failed: {done.stderr.strip()}")
    ops = re.findall(r"^\s*/\*[0-9a-f]{4,}\*/\s+(?:@!?U?P\w+\s+)?([A-Z][A-Z0-9_.]*)",
                     done.stdout, re.M)
    return sum(1 for op in ops if not op.startswith("NOP"))


def assemble(ptxas: str, ptx: str, cap: int | None = None, nvdisasm: str | None = None) -> dict:
    """ptxas -v on one kernel's PTX: registers a thread, spill bytes, stack, static shared; with
    nvdisasm, the SASS instructions too (else None)."""
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "k.ptx"
        src.write_text(ptx)
        cubin = Path(d) / "k.cubin"
        cmd = [ptxas, "-v", "-arch=sm_90", str(src), "-o", str(cubin)]
        if cap:
            cmd[1:1] = ["-maxrregcount", str(cap)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        sass = (sass_instructions(nvdisasm, cubin)
                if nvdisasm and done.returncode == 0 else None)
    if done.returncode != 0:
        raise RuntimeError(f"ptxas failed: {done.stderr.strip()}")
    text = done.stderr + done.stdout

    def num(pattern: str) -> int:
        m = re.search(pattern, text)
        return int(m.group(1)) if m else 0

    return {"registers": num(r"Used (\d+) registers"),
            "spill_stores": num(r"(\d+) bytes spill stores"),
            "spill_loads": num(r"(\d+) bytes spill loads"),
            "stack": num(r"(\d+) bytes stack frame"),
            "static_shared": num(r"(\d+) bytes smem"),
            "sass_instructions": sass}


def occupancy(regs: int, threads: int, smem: int) -> dict:
    """Resident blocks of `threads` threads on an sm_90 multiprocessor, what limits them, and the
    occupancy (resident warps / 64)."""
    warps = (threads + 31) // 32
    per_warp = -(-max(regs, 1) * 32 // _REG_UNIT) * _REG_UNIT
    limits = {
        "registers": SM90["regs"] // (per_warp * warps),
        "threads": SM90["threads"] // threads,
        "blocks": SM90["blocks"],
        "shared memory": SM90["smem"] // (smem + SM90["smem_reserved"]) if smem else SM90["blocks"],
    }
    blocks = min(limits.values())
    bound = min(limits, key=lambda k: limits[k])
    return {"blocks_per_sm": blocks, "occupancy": blocks * warps / 64, "bound_by": bound}


def fused_builds() -> dict[str, dict]:
    """The fused kernel's builds other than the default, as _make_kernels options by label (the
    build's keys that kernel_options turns into options, "checks"): those of the device check's
    BUILDS whose options differ from the default's (such as "links": False), and the capacity
    checks. Their other keys ("ahead", "tpb", "waves", "max_registers", "shared_tally",
    "spawn_bins") are not _make_kernels options: the fused kernel they compile is the default's."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from gpu_device_check import BUILDS, kernel_options

    default = kernel_options({})
    out = {}
    for build in (*BUILDS, {"checks": True}):
        if build.get("max_registers"):  # a cap is --caps' business (ptxas -maxrregcount)
            continue
        opts = kernel_options(build)
        if opts != default:
            out["+".join(k if v is True else f"{k}={v}" for k, v in build.items()
                         if kernel_options({k: v}) != default)] = opts
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ptxas", help="the ptxas to use (default: PATH, CUDA_HOME, the nvcc wheel)")
    ap.add_argument("--caps", default="32,40,48,56",
                    help="register caps to try on the fused kernel (comma-separated; '' for none)")
    ap.add_argument("--json", type=Path, help="write the rows here as JSON")
    ap.add_argument("--nvdisasm", default=shutil.which("nvdisasm"),
                    help="nvdisasm, to count each kernel's SASS instructions (default: PATH; "
                         "the PyPI wheel nvidia-cuda-nvdisasm has one)")
    ap.add_argument("--builds", action="store_true",
                    help="also the fused kernel's builds other than the default: the capacity "
                         "checks, and those of gpu_device_check.BUILDS that change the kernel "
                         "(such as links false)")
    args = ap.parse_args(argv)
    ptxas = find_ptxas(args.ptxas)
    from corredor.engine import gpu

    tally = gpu.SHARED_TALLY_BYTES  # dynamic shared memory of a launch with shared tallies
    # pass A with gaps: TPB threads; the fused kernel TPB_FUSED (only fused days run it); every
    # other kernel TPB_FLAT (spawn, bounces and recent travel run in TPB_FUSED on fused days)
    threads = {"movers": gpu.TPB, "fused": gpu.TPB_FUSED}
    rows = []
    builds = fused_builds() if args.builds else None
    for name, ptx in gpu.kernel_ptx((9, 0), fused_builds=builds).items():
        base = name.split("_global_tally")[0].split("[")[0]
        shared_tallies = base in gpu._TALLY_KERNELS and not name.endswith("_global_tally")
        caps = [None]
        if name == "fused" and args.caps:
            caps += [int(c) for c in args.caps.split(",")]
        for cap in caps:
            r = assemble(ptxas, ptx, cap, args.nvdisasm)
            nt = threads.get(base, gpu.TPB_FLAT)
            smem = r["static_shared"] + (tally if shared_tallies else 0)
            rows.append({"kernel": name, "max_registers": cap, "threads_per_block": nt,
                         "shared_bytes_per_block": smem, **r, **occupancy(r["registers"], nt, smem)})
    print(f"ptxas: {ptxas}; nvdisasm: {args.nvdisasm or 'none (no SASS counts)'}\n")
    print("| kernel | cap | registers | spill stores / loads (B) | stack (B) | threads a block "
          "| shared B a block (tallies at most) | blocks an SM | occupancy | bound by "
          "| SASS instructions |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['kernel']} | {r['max_registers'] or '–'} | {r['registers']} "
              f"| {r['spill_stores']} / {r['spill_loads']} | {r['stack']} "
              f"| {r['threads_per_block']} | {r['shared_bytes_per_block']} "
              f"| {r['blocks_per_sm']} | {r['occupancy']:.0%} | {r['bound_by']} "
              f"| {r['sass_instructions'] if r['sass_instructions'] is not None else '–'} |")
    if args.json:
        args.json.write_text(json.dumps({"ptxas": ptxas, "nvdisasm": args.nvdisasm,
                                         "arch": "sm_90", "rows": rows}, indent=1))
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
