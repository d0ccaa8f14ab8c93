import json
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import pytest
from study_helpers import Boom, shifted_sphere

import hybridlab as hl
from hybridlab.benchmarks import suite
from hybridlab.study import DEFAULT_TARGETS, Study, compare, log_grid

PROBLEMS = {i.name: i for i in suite(dims=(2,), instances=1,
                                     functions=["sphere", "rastrigin"])}
OPTIMIZERS = {"random": "random", "pso": "pso", "ga>>local": "ga>>local"}
TIME_COLUMNS = ["seconds", "objective_seconds"]


@pytest.fixture(scope="module")
def study():
    return compare(OPTIMIZERS, PROBLEMS, budget=150, seeds=2, progress=False, name="t")


def test_runs_and_hits_are_tidy(study):
    r = study.runs
    assert r.columns.tolist() == ["optimizer", "problem", "dim", "seed", "eval", "best_so_far",
                                  "gap", "seconds", "objective_seconds", "status",
                                  "energy_kwh"]
    assert r[["optimizer", "problem", "seed"]].drop_duplicates().shape[0] == 3 * 2 * 2
    assert r["dim"].dtype == np.int64 and r["eval"].dtype == np.int64
    assert (r["status"] == "budget").all()
    for _, run in r.groupby(["optimizer", "problem", "seed"]):
        assert run["eval"].tolist() == log_grid(150).tolist()  # ~50 points, ends at budget
        assert run["best_so_far"].is_monotonic_decreasing
        assert (run["gap"] >= 0).all()
    inst = PROBLEMS["sphere-d2-i1"]
    one = r[(r["problem"] == inst.name)]
    np.testing.assert_allclose(one["gap"], np.maximum(one["best_so_far"] - inst.f_opt, 0))
    h = study.hits
    assert h.columns.tolist() == ["optimizer", "problem", "dim", "seed", "target", "evals",
                                  "spent"]
    assert len(h) == 12 * len(DEFAULT_TARGETS)
    assert (h["spent"] == 150).all()
    assert study.meta["problems"]["sphere-d2-i1"]["f_opt"] == inst.f_opt
    assert study.meta["optimizers"]["ga>>local"]["components"] == ["ga", "local"]
    assert study.meta["versions"]["numpy"] == np.__version__


def test_hits_are_exact_first_evaluations(study):
    """The grid is coarse, but hits come from the full history: check against minimize."""
    inst = PROBLEMS["rastrigin-d2-i1"]
    res = hl.minimize(inst.problem(), "ga>>local", budget=150, seed=1)
    gaps = res.history["best_so_far"].to_numpy() - inst.f_opt
    h = study.hits.query("optimizer == 'ga>>local' and problem == @inst.name and seed == 1")
    for t, evals in zip(h["target"], h["evals"], strict=True):
        reached = np.flatnonzero(gaps <= t)
        assert (np.isnan(evals) and reached.size == 0) or evals == reached[0] + 1


def test_summary_ranks_and_components(study):
    s = study.summary()
    assert s["optimizer"].tolist() == list(OPTIMIZERS)
    assert (s["runs"] == 4).all() and (s["crashed"] == 0).all()
    assert ((s["ci_low"] <= s["median"]) & (s["median"] <= s["ci_high"])).all()
    assert s["targets_reached"].between(0, 1).all()
    assert (s["overhead_ms"] > 0).all()
    per = study.summary(per_problem=True)
    assert per[["optimizer", "problem"]].shape[0] == 6
    r = study.ranks()
    assert r.reference == "random" and sorted(r.ranks.index) == sorted(OPTIMIZERS)
    assert r.pairwise["optimizer"].tolist() == ["pso", "ga>>local"]
    assert study.components == {}  # ga and local are not in this study
    e = study.ert(pooled=True, per_dim=True)
    assert e.columns.tolist() == ["optimizer", "target", "ert", "successes", "runs"]


def test_hybrid_versus_its_components():
    s = compare(["ga", "local", "ga>>local"], [PROBLEMS["sphere-d2-i1"]], budget=100,
                seeds=3, progress=False)
    assert s.components == {"ga>>local": ["ga", "local"]}
    vs = s.versus_components()
    assert vs["component"].tolist() == ["ga", "local"]
    assert (vs[["wins", "ties", "losses"]].sum(axis=1) == 3).all()
    assert vs["p_holm"].between(0, 1).all()


def test_compare_is_deterministic(study):
    again = compare(OPTIMIZERS, PROBLEMS, budget=150, seeds=2, progress=False, name="t")
    pd.testing.assert_frame_equal(study.runs.drop(columns=TIME_COLUMNS),
                                  again.runs.drop(columns=TIME_COLUMNS))
    pd.testing.assert_frame_equal(study.hits, again.hits)


def test_process_pool_gives_the_same_runs(study):
    with ProcessPoolExecutor(2) as pool:
        par = compare(OPTIMIZERS, PROBLEMS, budget=150, seeds=2, executor=pool,
                      progress=False, name="t")
    pd.testing.assert_frame_equal(study.runs.drop(columns=TIME_COLUMNS),
                                  par.runs.drop(columns=TIME_COLUMNS))
    pd.testing.assert_frame_equal(study.hits, par.hits)
    assert par.meta["executor"] == "ProcessPoolExecutor"


def test_failing_cell_is_recorded_not_fatal():
    s = compare({"boom": Boom(), "random": "random"}, PROBLEMS, budget=100, seeds=2,
                progress=False)
    crashed = s.crashed
    assert len(crashed) == 4 and set(crashed["optimizer"]) == {"boom"}
    assert crashed["status"].str.contains("RuntimeError: boom in ask").all()
    rows = s.runs[s.runs["optimizer"] == "boom"]
    assert (rows["eval"] == 0).all() and rows["best_so_far"].isna().all()
    assert (s.runs.loc[s.runs["optimizer"] == "random", "status"] == "budget").all()
    summ = s.summary().set_index("optimizer")
    assert summ.loc["boom", "crashed"] == 4 and summ.loc["random", "crashed"] == 0
    assert summ.loc["boom", "success_rate"] == 0 and summ.loc["boom", "targets_reached"] == 0
    assert np.isnan(summ.loc["boom", "median"])
    assert s.ranks().ranks.index[0] == "random"
    assert s.hits.loc[s.hits["optimizer"] == "boom", "spent"].isna().all()


def test_problems_without_f_opt_use_the_objective():
    plain = hl.Problem(shifted_sphere, hl.Space.box(3, -5, 5), name="plain")
    s = compare(["random", "local"], {"plain": plain}, budget=lambda d: 60 * d, seeds=2,
                progress=False)
    info = s.meta["problems"]["plain"]
    assert info["f_opt"] is None and info["measure"] == "objective"
    assert info["budget"] == 180 and info["targets_from"] == "quantiles"
    assert (s.runs["gap"] == s.runs["best_so_far"]).all()
    finals = s.final()["gap"]
    targets = info["targets"]
    assert targets == sorted(targets, reverse=True)
    assert targets[0] == pytest.approx(finals.max()) and targets[-1] == pytest.approx(
        finals.min())
    h = s.hits
    assert h.groupby(["optimizer", "seed"])["evals"].apply(lambda e: e.iloc[0] > 0).all()
    best = s.final().loc[s.final()["gap"].idxmin()]
    hit = h[(h["optimizer"] == best["optimizer"]) & (h["seed"] == best["seed"])]
    assert hit["evals"].notna().all()  # the best run reaches every target
    assert s.measure == "objective"
    assert s.summary()["success_rate"].max() > 0


def test_explicit_targets_and_inputs():
    inst = PROBLEMS["sphere-d2-i1"]
    s = compare("random", [inst], budget=50, seeds=[7], targets=[1.0, 10.0], progress=False)
    assert s.optimizers == ["random"] and s.seeds == [7]
    assert s.meta["problems"][inst.name]["targets"] == [10.0, 1.0]
    assert s.meta["problems"][inst.name]["targets_from"] == "given"
    with pytest.raises(ValueError, match="budget"):
        compare("random", [inst], budget=0, seeds=1, progress=False)
    with pytest.raises(ValueError, match="unknown optimizer"):
        compare("nope", [inst], budget=10, seeds=1, progress=False)
    with pytest.raises(ValueError, match="seeds"):
        compare("random", [inst], budget=10, seeds=[], progress=False)


def test_save_load_round_trip(study, tmp_path):
    folder = study.save(tmp_path / "s")
    assert sorted(p.name for p in folder.iterdir()) == ["hits.csv", "runs.csv", "study.json"]
    back = Study.load(folder)
    pd.testing.assert_frame_equal(study.runs, back.runs, check_exact=True)
    pd.testing.assert_frame_equal(study.hits, back.hits, check_exact=True)
    assert back.meta == study.meta
    doc = json.loads((folder / "study.json").read_text())
    assert doc["tables"]["runs"]["dtypes"]["eval"] == "int64"


def test_save_load_keeps_crashes_and_odd_labels(tmp_path):
    s = compare({"boom, \"quoted\"": Boom(), "nan": "random"}, [PROBLEMS["sphere-d2-i1"]],
                budget=30, seeds=1, progress=False)
    back = Study.load(s.save(tmp_path))
    pd.testing.assert_frame_equal(s.runs, back.runs, check_exact=True)
    pd.testing.assert_frame_equal(s.hits, back.hits, check_exact=True)
    with pytest.raises(ValueError, match="format"):
        s.save(tmp_path, format="xlsx")


def test_parquet_when_pyarrow_is_installed(study, tmp_path):
    pytest.importorskip("pyarrow")
    back = Study.load(study.save(tmp_path, format="parquet"))
    pd.testing.assert_frame_equal(study.runs, back.runs, check_exact=True)
