"""Outputs: run folders, tables (Parquet, CSV+HXL, GeoJSON), plots and the HTML report."""

from __future__ import annotations

from . import mplconfig

mplconfig.ensure()  # (before any module here imports matplotlib: it reads MPLCONFIGDIR then)


def _register_standard_writers() -> None:
    """Every run folder gets the standard tables and plots (outputs/tables.py)."""
    from .runfolder import EXTRA_WRITERS
    from .tables import write_standard_outputs

    if write_standard_outputs not in EXTRA_WRITERS:
        EXTRA_WRITERS.append(write_standard_outputs)


_register_standard_writers()
