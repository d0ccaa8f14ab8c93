"""Energy and emissions of a run, measured by codecarbon offline (extra ``energy``).

:class:`EnergyMonitor` wraps codecarbon's ``OfflineEmissionsTracker`` (no network: the
carbon intensity comes from codecarbon's bundled table for ``country_iso_code``).  Use it
as a context manager around any work, as a ``minimize`` callback, or around an objective:

* ``with EnergyMonitor() as e: ...`` -- ``e.kwh``, ``e.emissions_kg``, ``e.seconds``;
* ``wrap(objective)`` -- each evaluation measured as a codecarbon *task*, so
  ``e.evaluations`` holds the energy per trial (serial runs: a task is measured in this
  process);
* ``callbacks=[e]`` in :func:`hybridlab.minimize` -- starts at the first batch if not
  started, stops when the run ends.

**How it measures** (``e.method``, stated in every table): with Intel RAPL counters
(``/sys/class/powercap``, Linux) codecarbon reads the CPU package's energy; without them
-- virtual machines, most containers, macOS without powermetrics -- it *estimates* CPU
power as the CPU's rated TDP times its load, and RAM power from its size.  An estimate
ranks methods by how long and how hard they compute; it is not a meter reading.

Example
-------
>>> import numpy as np, hybridlab as hl
>>> p = hl.Problem(lambda x: float(np.sum(x ** 2)), hl.Space.box(2, -1, 1))
>>> with EnergyMonitor() as energy:
...     r = hl.minimize(p, "ga>>local", budget=200, seed=0)
>>> energy.kwh > 0 and energy.seconds > 0, energy.method.split(":")[0] in METHODS.values()
(True, True)
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

__all__ = ["METHODS", "EnergyMonitor"]

#: codecarbon's CPU modes, as ``method`` names them
METHODS = {"intel_rapl": "RAPL", "intel_power_gadget": "Intel Power Gadget",
           "apple_powermetrics": "powermetrics", "cpu_load": "estimate",
           "constant": "estimate"}


class _SetupChatter(logging.Filter):
    """codecarbon logs two lines while a tracker is built, before its ``log_level``
    applies: "offline tracker init" and "Multiple instances of codecarbon are allowed to
    run at the same time" -- neither says anything about the measurement."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        return not text.startswith(("offline tracker init", "Multiple instances of codecarbon"))


def _tracker(country_iso_code: str, measure_power_secs: float, mode: str) -> Any:
    try:
        from codecarbon import OfflineEmissionsTracker
    except ImportError as exc:  # an optional extra
        raise ImportError("EnergyMonitor needs codecarbon: pip install "
                          "'hybridlab[energy]'") from exc
    log, quiet = logging.getLogger("codecarbon"), _SetupChatter()
    log.addFilter(quiet)
    try:
        return OfflineEmissionsTracker(
            country_iso_code=country_iso_code, measure_power_secs=measure_power_secs,
            tracking_mode=mode, output_methods=[], log_level="error",
            project_name="hybridlab")
    finally:
        log.removeFilter(quiet)


class EnergyMonitor:
    """Energy (kWh) and emissions (kg CO2-eq) of a run and of each evaluation.

    Parameters
    ----------
    country_iso_code : str, default "USA"
        Three-letter country code for the carbon intensity (codecarbon's offline table).
    measure_power_secs : float, default 1.0
        codecarbon's sampling interval.
    tracking_mode : {"machine", "process"}
        Power of the whole machine (counts worker processes; default) or of this
        process's share of the CPU.
    """

    def __init__(self, country_iso_code: str = "USA", measure_power_secs: float = 1.0,
                 tracking_mode: str = "machine") -> None:
        if tracking_mode not in ("machine", "process"):
            raise ValueError(f"tracking_mode must be 'machine' or 'process', got "
                             f"{tracking_mode!r}")
        if not measure_power_secs > 0:
            raise ValueError(f"measure_power_secs must be > 0, got {measure_power_secs!r}")
        self.country_iso_code, self.tracking_mode = country_iso_code, tracking_mode
        self.measure_power_secs = float(measure_power_secs)
        self._tracker: Any = None
        self._t0 = 0.0
        self.kwh = self.emissions_kg = self.seconds = float("nan")
        self.method = "not measured"
        self.evaluations: list[dict[str, float]] = []

    # -- whole run -----------------------------------------------------------------------

    def start(self) -> EnergyMonitor:
        """Start measuring (a second call does nothing)."""
        if self._tracker is None:
            self._tracker = _tracker(self.country_iso_code, self.measure_power_secs,
                                     self.tracking_mode)
            self._t0 = time.perf_counter()
            self._tracker.start()
            self.method = self._method()  # codecarbon picks its hardware when started
        return self

    def stop(self) -> EnergyMonitor:
        """Stop and keep the totals (``kwh``, ``emissions_kg``, ``seconds``)."""
        if self._tracker is not None:
            emissions = self._tracker.stop()
            data = self._tracker.final_emissions_data
            self.seconds = time.perf_counter() - self._t0
            self.kwh = float(data.energy_consumed)
            self.emissions_kg = float(emissions)
            self._tracker = None
        return self

    def __enter__(self) -> EnergyMonitor:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _method(self) -> str:
        """What codecarbon measures the CPU with, in words."""
        # codecarbon names its CPU mode only on the (private) hardware object it built
        cpu = [h for h in getattr(self._tracker, "_hardware", [])
               if type(h).__name__ == "CPU"]
        mode = getattr(cpu[0], "_mode", "unknown") if cpu else "unknown"
        name = METHODS.get(mode, mode)
        if name == "estimate":
            return (f"estimate: codecarbon's fallback without power counters -- CPU TDP x "
                    f"load ({mode}) plus RAM by size, {self.tracking_mode}")
        return f"{name}: measured CPU energy, {self.tracking_mode}"

    # -- a minimize callback -------------------------------------------------------------

    def __call__(self, progress: Any) -> bool:
        self.start()
        return False

    def close(self, result: Any) -> None:
        """:func:`hybridlab.minimize`'s end-of-run hook: stop."""
        self.stop()

    # -- per evaluation ------------------------------------------------------------------

    def wrap(self, objective: Callable[..., Any]) -> Callable[..., Any]:
        """``objective`` with each call measured as a codecarbon task (``evaluations``:
        ``kwh``, ``emissions_kg``, ``seconds`` per call, in call order).  Starts the
        monitor if needed."""

        @functools.wraps(objective)
        def measured(*args: Any, **kwargs: Any) -> Any:
            self.start()
            self._tracker.start_task()
            t0 = time.perf_counter()
            try:
                return objective(*args, **kwargs)
            finally:
                data = self._tracker.stop_task()
                self.evaluations.append({"kwh": float(data.energy_consumed),
                                         "emissions_kg": float(data.emissions),
                                         "seconds": time.perf_counter() - t0})

        return measured

    def begin_task(self) -> None:
        """Start measuring one piece of work (a codecarbon task); starts the monitor."""
        self.start()
        self._tracker.start_task()

    def end_task(self) -> float:
        """End the piece of work :meth:`begin_task` started; its energy in kWh."""
        return float(self._tracker.stop_task().energy_consumed)

    def table(self) -> pd.DataFrame:
        """The per-evaluation measurements with ``eval`` (1-based) and cumulative
        ``kwh_cumulative``."""
        t = pd.DataFrame(self.evaluations, columns=["kwh", "emissions_kg", "seconds"])
        t.insert(0, "eval", range(1, len(t) + 1))
        t["kwh_cumulative"] = t["kwh"].cumsum()
        return t

    def summary(self) -> dict[str, Any]:
        """Totals and the method, one dict (for a report row)."""
        return {"kwh": self.kwh, "emissions_kg": self.emissions_kg, "seconds": self.seconds,
                "evaluations": len(self.evaluations), "method": self.method}
