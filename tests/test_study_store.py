"""``compare(..., store=)``: studies recorded run by run, resumed, rebuilt from the store."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import pytest

from hybridlab import Problem, Space
from hybridlab.study import Study, compare
from hybridlab.tracking import RunStore, StoreError

TIMINGS = ["seconds", "objective_seconds"]


def sphere(x):
    return float(np.sum((np.asarray(x) - 0.2) ** 2))


class Crash(BaseException):
    pass


class Counting:
    def __init__(self, crash_after=None):
        self.calls, self.crash_after = 0, crash_after

    def __call__(self, x):
        if self.crash_after is not None and self.calls >= self.crash_after:
            raise Crash
        self.calls += 1
        return sphere(x)


def problems(fn=sphere):
    return {"sphere": Problem(fn, Space.box(2, -3, 3), name="sphere")}


def same(a: Study, b: Study) -> None:
    pd.testing.assert_frame_equal(a.runs.drop(columns=TIMINGS), b.runs.drop(columns=TIMINGS))
    pd.testing.assert_frame_equal(a.hits, b.hits)


def test_from_store_rebuilds_the_study(tmp_path):
    db = tmp_path / "study.db"
    study = compare(["random", "ga>>local"], problems(), budget=60, seeds=2, name="s",
                    progress=False, store=db)
    rebuilt = Study.from_store(db, "s")
    same(study, rebuilt)
    assert rebuilt.meta == study.meta
    with RunStore(db) as store:
        assert len(store.names()) == 4 and "s/ga>>local/sphere/seed1" in store.names()
    with pytest.raises(KeyError, match="no finished study 'other'"):
        Study.from_store(db, "other")


def test_killed_study_resumes_without_recomputing(tmp_path):
    db = tmp_path / "study.db"
    kwargs = dict(budget=60, seeds=3, name="s", progress=False)
    reference = compare(["pso", "ga"], problems(), **kwargs)
    with pytest.raises(Crash):  # dies in the middle of the 4th of 6 runs
        compare(["pso", "ga"], problems(Counting(crash_after=200)), store=db, **kwargs)
    with RunStore(db) as store:
        stored = int(store.runs()["n_evals"].sum())
    assert 180 <= stored <= 200
    counting = Counting()
    resumed = compare(["pso", "ga"], problems(counting), store=db, **kwargs)
    assert counting.calls == 6 * 60 - stored
    same(resumed, reference)
    same(Study.from_store(db, "s"), reference)


def test_store_with_a_process_pool(tmp_path):
    db = tmp_path / "study.db"
    serial = compare(["random", "pso"], problems(), budget=40, seeds=2, progress=False)
    with ProcessPoolExecutor(2) as pool:
        pooled = compare(["random", "pso"], problems(), budget=40, seeds=2, progress=False,
                         executor=pool, store=db)
    same(pooled, serial)
    same(Study.from_store(db), serial)


def test_bad_store_fails_before_any_run(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"\x00junk" * 500)
    counting = Counting()
    with pytest.raises(StoreError, match="left untouched"):
        compare(["random"], problems(counting), budget=10, seeds=1, progress=False, store=junk)
    assert counting.calls == 0
