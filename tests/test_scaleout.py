"""Scale-out executors: Ray's and Dask's ``Executor.map`` stand-ins give the serial results.

``minimize`` and ``compare`` accept anything with the ``concurrent.futures.Executor.map``
contract (order preserved).  ``ProcessPoolExecutor`` is covered where the driver and the
studies are tested (``tests/test_driver.py::test_process_pool_gives_identical_result``,
``tests/test_study_compare.py::test_process_pool_gives_the_same_runs``,
``tests/test_tracking.py`` and ``tests/test_study_store.py``); here the same checks run
through ``ray.util.multiprocessing.Pool`` and a Dask ``Client.get_executor()``.  Each test
is skipped when its extra (``ray``, ``distributed``) is not installed.

The objectives are functions of the package (``hybridlab.benchmarks``), so Ray's workers,
which do not see ``tests/`` on their path, can import them.
"""

import logging

import pandas as pd
import pytest

from hybridlab import Categorical, Problem, Real, Space, minimize
from hybridlab.benchmarks import functions, suite
from hybridlab.study import compare

# one local Ray per test run: both Ray modules on one xdist worker (make test: --dist loadgroup)
pytestmark = pytest.mark.xdist_group("ray")

PROBLEM = Problem(functions.rastrigin, Space.box(3, -5.12, 5.12), name="rastrigin")
PROBLEMS = {i.name: i for i in suite(dims=(2,), instances=1, functions=["sphere"])}
OPTIMIZERS = {"random": "random", "ga>>local": "ga>>local"}
TIME_COLUMNS = ["seconds", "objective_seconds"]
SPECS = ["ga", "ga>>local"]


@pytest.fixture(scope="module")
def ray_pool(ray_session):
    """``ray.util.multiprocessing.Pool(2)`` on the session's local two-CPU Ray."""
    from ray.util.multiprocessing import Pool

    pool = Pool(2)
    yield pool
    pool.terminate()


@pytest.fixture(scope="module")
def dask_executor():
    """A two-process Dask ``LocalCluster``'s ``Client.get_executor()``."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            distributed.Client(cluster) as client:
        yield client.get_executor()


EXECUTORS = ["ray_pool", "dask_executor"]


@pytest.fixture(scope="module")
def serial_results():
    return {spec: minimize(PROBLEM, spec, budget=80, seed=5) for spec in SPECS}


@pytest.fixture(scope="module")
def serial_study():
    return compare(OPTIMIZERS, PROBLEMS, budget=60, seeds=2, progress=False, name="scale")


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("name", EXECUTORS)
def test_minimize_gives_the_serial_result(name, spec, serial_results, request):
    executor = request.getfixturevalue(name)
    par = minimize(PROBLEM, spec, budget=80, seed=5, executor=executor)
    assert par.n_evals == 80
    assert serial_results[spec].matches(par)


@pytest.mark.parametrize("name", EXECUTORS)
def test_compare_gives_the_serial_runs(name, serial_study, request):
    executor = request.getfixturevalue(name)
    par = compare(OPTIMIZERS, PROBLEMS, budget=60, seeds=2, executor=executor,
                  progress=False, name="scale")
    pd.testing.assert_frame_equal(serial_study.runs.drop(columns=TIME_COLUMNS),
                                  par.runs.drop(columns=TIME_COLUMNS))
    pd.testing.assert_frame_equal(serial_study.hits, par.hits)
    assert par.meta["executor"] == type(executor).__name__


def test_failures_are_recorded_through_ray(ray_pool):
    """An objective that raises in a Ray worker is a recorded failure, not a crash."""
    # rastrigin wants an array; a mixed space hands it a dict, so every call raises
    p = Problem(functions.rastrigin, {"x": Real(0, 1), "k": Categorical(["a", "b"])})
    r = minimize(p, "random", budget=6, seed=0, executor=ray_pool)
    assert r.n_failed == 6 and r.history["error"].str.contains("Error").all()

