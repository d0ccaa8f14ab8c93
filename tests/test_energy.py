"""Energy per run and per evaluation with codecarbon, offline (hybridlab.energy)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("codecarbon")

import hybridlab as hl
from hybridlab.energy import METHODS, EnergyMonitor


def sphere(x):
    return float(np.sum(x**2))


def test_a_run_measured_as_a_callback_and_each_evaluation_as_a_task():
    energy = EnergyMonitor(tracking_mode="process")
    p = hl.Problem(energy.wrap(sphere), hl.Space.box(2, -1, 1))
    r = hl.minimize(p, "ga>>local", budget=60, seed=0, callbacks=[energy])
    assert energy._tracker is None  # stopped when the run ended
    assert energy.kwh > 0 and energy.emissions_kg > 0 and energy.seconds > 0
    assert energy.method.split(":")[0] in METHODS.values()  # said plainly, not guessed
    t = energy.table()
    assert len(t) == r.n_evals == 60 and t["eval"].tolist() == list(range(1, 61))
    assert (t["kwh"] >= 0).all() and t["kwh_cumulative"].is_monotonic_increasing
    # the trials are part of the run: their energy is within the run's
    assert t["kwh"].sum() <= energy.kwh * (1 + 1e-9)
    assert energy.summary()["evaluations"] == 60


def test_the_same_seed_gives_the_same_result_with_or_without_the_monitor():
    p = hl.Problem(sphere, hl.Space.box(2, -1, 1))
    with EnergyMonitor() as energy:
        measured = hl.minimize(hl.Problem(energy.wrap(sphere), p.space), "pso", 40, seed=3)
    plain = hl.minimize(p, "pso", 40, seed=3)
    assert measured.y == plain.y and np.array_equal(measured.x, plain.x)
    assert np.isfinite(energy.kwh)


def test_bad_arguments_raise_value_error():
    with pytest.raises(ValueError, match="tracking_mode"):
        EnergyMonitor(tracking_mode="gpu")
    with pytest.raises(ValueError, match="measure_power_secs"):
        EnergyMonitor(measure_power_secs=0)
    assert EnergyMonitor().summary()["method"] == "not measured"


def test_a_study_measures_each_runs_energy_along_the_run():
    from hybridlab.benchmarks import suite
    from hybridlab.study import compare

    problems = suite(dims=(2,), instances=1, functions=["sphere"])
    study = compare(["random", "ga"], problems, budget=40, seeds=2, progress=False,
                    energy=True)
    runs = study.runs
    assert runs["energy_kwh"].notna().all() and (runs["energy_kwh"] >= 0).all()
    for _, g in runs.groupby(["optimizer", "seed"]):
        assert g["energy_kwh"].is_monotonic_increasing  # cumulative along the run
    assert study.meta["energy_method"].split(":")[0] in METHODS.values()
    plain = compare(["random"], problems, budget=40, seeds=1, progress=False)
    assert plain.runs["energy_kwh"].isna().all() and plain.meta["energy_method"] is None
