"""Draw a run's PNG figures in a forked helper process, started before the run computes.

Why: matplotlib takes ~0.4 s to import and the figures ~0.5 s to draw, a third of a whole
`corredor run` on burundi. A helper forked at the start of the command (while the process is
still single-threaded: no numba or OpenMP threads yet) imports matplotlib and loads its fonts
while the engine runs, then draws the figures while the parent writes the tables. The figures
are made by the same code (`plots.write_plots`), so the files are the same bytes.

The job travels as JSON plus `.npy` arrays (`_pack`: corredor serialises no Python objects for
data): a dataset or observations that do not fit that (objects other than strings, attributes
that JSON does not give back unchanged) are drawn in the parent instead.

Anything unusual falls back to drawing in the parent as before: no `os.fork` (Windows), other
threads running at start, or a helper that fails or dies (`result` returns None).

The helper is handed on explicitly: whoever starts it passes it to `write_run_folder(...,
plot_worker=helper)`, which gives it to the figure writer (`tables.write_standard_outputs`); None
there means the figures are drawn in-process.

>>> with plot_worker() as helper:  # doctest: +SKIP
...     write_run_folder(simulate(scenario), out, plot_worker=helper)
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any


class Unpackable(ValueError):
    """The job holds something `_pack` does not carry exactly."""


def _json_exact(obj: Any) -> str:
    text = json.dumps(obj, allow_nan=True)
    if json.loads(text) != obj:
        raise Unpackable("not plain JSON")
    return text


def _pack_dataset(ds: Any, blobs: list[bytes]) -> dict[str, Any]:
    """The dataset's structure as JSON-ready dict; its arrays appended to `blobs` as .npy."""
    import numpy as np

    out: dict[str, Any] = {"attrs": json.loads(_json_exact(dict(ds.attrs))), "vars": []}
    for kind, mapping in (("coord", ds.coords), ("var", ds.data_vars)):
        for name, da in mapping.items():
            if not isinstance(name, str):
                raise Unpackable("non-string name")
            a = np.asarray(da.values)
            obj = a.dtype == object
            if obj:
                if not all(isinstance(x, str) for x in a.ravel().tolist()):
                    raise Unpackable(f"{name}: objects other than strings")
                a = a.astype(str)
            buf = io.BytesIO()
            np.save(buf, a, allow_pickle=False)
            blobs.append(buf.getvalue())
            out["vars"].append({"kind": kind, "name": name, "dims": list(da.dims), "object": obj,
                                "attrs": json.loads(_json_exact(dict(da.attrs)))})
    return out


def _unpack_dataset(spec: dict[str, Any], blobs: list[bytes]) -> Any:
    import numpy as np
    import xarray as xr

    coords: dict[str, Any] = {}
    data_vars: dict[str, Any] = {}
    for v in spec["vars"]:
        a = np.load(io.BytesIO(blobs.pop(0)), allow_pickle=False)
        if v["object"]:
            a = a.astype(object)
        (coords if v["kind"] == "coord" else data_vars)[v["name"]] = (tuple(v["dims"]), a, v["attrs"])
    return xr.Dataset(data_vars, coords=coords, attrs=spec["attrs"])


def _pack(dataset: Any, needs: Any, observations: Any, folder: Path) -> bytes:
    """One job as bytes: an 8-byte length, a JSON header, then the .npy arrays it lists."""
    blobs: list[bytes] = []
    head = {"dataset": _pack_dataset(dataset, blobs),
            "needs": None if needs is None else _pack_dataset(needs, blobs),
            "observations": json.loads(_json_exact(observations)), "folder": str(folder),
            "sizes": []}
    head["sizes"] = [len(b) for b in blobs]
    text = json.dumps(head).encode()
    return len(text).to_bytes(8, "little") + text + b"".join(blobs)


def _unpack(job: bytes) -> tuple[Any, Any, Any, Path]:
    n = int.from_bytes(job[:8], "little")
    head = json.loads(job[8:8 + n])
    blobs, at = [], 8 + n
    for size in head["sizes"]:
        blobs.append(job[at:at + size])
        at += size
    dataset = _unpack_dataset(head["dataset"], blobs)
    needs = None if head["needs"] is None else _unpack_dataset(head["needs"], blobs)
    return dataset, needs, head["observations"], Path(head["folder"])


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    while True:
        b = os.read(fd, 1 << 20)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _serve(inbox: int, outbox: int) -> None:
    """The helper: load matplotlib, wait for one job, draw it, answer with the files written."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .plots import write_plots

    warm = Figure(figsize=(1, 1))  # load the font files now, not when the job arrives
    warm.text(0.5, 0.5, "0 people", fontsize=9)
    FigureCanvasAgg(warm).draw()
    job = _read_all(inbox)
    os.close(inbox)
    if not job:  # the parent gave up (the run failed or no plots were needed)
        return
    dataset, needs, observations, folder = _unpack(job)
    paths = write_plots(_Dataset(dataset), folder, needs, observations=observations)
    _write_all(outbox, json.dumps([str(p) for p in paths]).encode())


class _Dataset:
    """A Results for `write_plots`, which reads its dataset only: it is given the needs and the
    observations, so it never reads the manifest (left empty)."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset
        self.manifest: Mapping[str, Any] = {}


class PlotWorker:
    """One forked helper that draws one run folder's figures (`submit`, then `result`)."""

    def __init__(self, pid: int, inbox: int, outbox: int) -> None:
        self.pid = pid
        self._inbox: int | None = inbox  # parent → helper (the job)
        self._outbox: int | None = outbox  # helper → parent (the files written)
        self._sender: threading.Thread | None = None

    @classmethod
    def start(cls) -> PlotWorker | None:
        """Fork the helper, or None where forking is not safe or not available."""
        if not hasattr(os, "fork") or threading.active_count() > 1:
            return None
        to_child_r, to_child_w = os.pipe()
        to_parent_r, to_parent_w = os.pipe()
        for stream in (sys.stdout, sys.stderr):  # nothing buffered may be written twice
            with contextlib.suppress(Exception):
                stream.flush()
        pid = os.fork()
        if pid == 0:  # the helper: never returns into the caller's code
            code = 1
            try:
                os.close(to_child_w)
                os.close(to_parent_r)
                _serve(to_child_r, to_parent_w)
                code = 0
            except BaseException:  # noqa: BLE001 - the parent draws the figures itself then
                code = 1
            finally:
                os._exit(code)
        os.close(to_child_r)
        os.close(to_parent_w)
        return cls(pid, to_child_w, to_parent_r)

    def submit(self, dataset: Any, needs: Any, observations: Any, folder: Path) -> bool:
        """Send the job (False if it cannot be packed: then `result` is None); a thread writes it,
        so that the caller never waits for the helper."""
        if self._inbox is None:
            return False
        try:
            data = _pack(dataset, needs, observations, folder)
        except (Unpackable, TypeError, ValueError):
            self.close()
            return False
        fd = self._inbox
        self._inbox = None

        def send() -> None:
            try:
                _write_all(fd, data)
            except OSError:
                pass
            finally:
                os.close(fd)

        self._sender = threading.Thread(target=send, daemon=True)
        self._sender.start()
        return True

    def result(self) -> list[Path] | None:
        """The files the helper wrote, or None if it failed (then nothing may be relied on)."""
        if self._outbox is None:
            return None
        try:
            answer = _read_all(self._outbox)
        finally:
            os.close(self._outbox)
            self._outbox = None
            if self._sender is not None:
                self._sender.join()
            ok = self._reap()
        if not ok or not answer:
            return None
        return [Path(p) for p in json.loads(answer)]

    def close(self) -> None:
        """End the helper: at once if no job was sent (the run failed or drew elsewhere), else
        after it has answered; either way wait for it, so no process is left behind."""
        if self._inbox is not None:  # no job: nothing it does is needed
            os.close(self._inbox)
            self._inbox = None
            if self.pid > 0:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
        if self._outbox is not None:
            os.close(self._outbox)
            self._outbox = None
        if self._sender is not None:
            self._sender.join()
        self._reap()

    def _reap(self) -> bool:
        if self.pid <= 0:
            return False
        try:
            _, status = os.waitpid(self.pid, 0)
        except ChildProcessError:
            return False
        finally:
            self.pid = 0
        return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


@contextlib.contextmanager
def plot_worker() -> Iterator[PlotWorker | None]:
    """Start a helper (None where that is not possible) for the caller to pass to
    `write_run_folder`, and end it when the block is left (see the module docstring).

    Enter it before anything starts threads: the helper is forked only from a single-threaded
    process.
    """
    w = PlotWorker.start()
    try:
        yield w
    finally:
        if w is not None:
            w.close()
