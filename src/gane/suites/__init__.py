"""Benchmark suites: `gane bench suite NAME` reproduces a published table at gane's scale.

Each suite is a function registered with :func:`register_suite` that trains (or reuses) the runs
it needs, measures them with the metric registry, and returns a :class:`Report`: our rows beside
the published ones (each quoted row marked with its source), the commands, the wall time and
where our protocol differs from the paper's. :func:`run_suite` writes it as
``RESULTS/NAME.md`` and ``RESULTS/NAME.json``.
"""
from .core import SUITES, Report, SuiteOptions, Table, register_suite, run_suite
from . import claims, fidelity, inversion, modern, modes2d, representation, stacked, translation  # noqa: F401  (registers the suites)

__all__ = ["SUITES", "Report", "SuiteOptions", "Table", "register_suite", "run_suite"]
