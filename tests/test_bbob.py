import pickle
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

cocoex = pytest.importorskip("cocoex")

from hybridlab.benchmarks.bbob import (  # noqa: E402
    BBOB_FUNCTIONS,
    BBOB_GROUP_TITLES,
    BBOB_GROUPS,
    BBOBFunction,
    BBOBProblem,
    bbob_group,
    bbob_problem,
    bbob_suite,
)
from hybridlab.problem import Problem  # noqa: E402


def _coco_suite_problem(f, d, i):
    suite = cocoex.Suite("bbob", "", f"dimensions:{d} function_indices:{f} instance_indices:{i}")
    return suite[0]


@pytest.mark.parametrize("f,d,i", [(1, 2, 1), (3, 5, 2), (10, 10, 3), (21, 3, 5), (24, 20, 1)])
def test_values_match_cocoex_suite_exactly(f, d, i):
    p = bbob_problem(f, d, i)
    coco = _coco_suite_problem(f, d, i)
    X = np.random.default_rng(f * 100 + d).uniform(-5, 5, (20, d))
    expected = np.array([coco(x) for x in X])
    assert np.array_equal(p.objective(X), expected)                     # one batch call
    assert [p.objective(x) for x in X] == expected.tolist()            # row by row
    assert np.array_equal(p.evaluate_many(X).y, expected)
    assert coco.id == f"bbob_f{f:03d}_i{i:02d}_d{d:02d}"


def test_optimum_is_known_for_every_function():
    for f in range(1, 25):
        for d in (2, 5):
            p = bbob_problem(f, d, 1)
            assert np.all(np.abs(p.x_opt) <= 5.0)
            assert abs(p.objective(p.x_opt) - p.f_opt) < 1e-9, (f, d)
            X = np.random.default_rng(f).uniform(-5, 5, (50, d))
            assert np.all(p.objective(X) >= p.f_opt - 1e-9)


def test_problem_is_a_vectorised_box_problem_with_name_group_and_gap():
    p = bbob_problem(12, 5, 3)
    assert isinstance(p, Problem) and p.vectorized is True
    assert p.name == "bbob_f12_i03_d05" and p.group == "ill-conditioned"
    assert p.space.dim == 5
    assert np.allclose(p.space.decode(np.zeros(5)), -5.0)
    assert np.allclose(p.space.decode(np.ones(5)), 5.0)
    assert p.gap(p.f_opt + 2.5) == 2.5
    assert not p.x_opt.flags.writeable
    assert repr(p) == "BBOBProblem(12, 5, 3)"


def test_groups_partition_the_24_functions():
    members = [f for fs in BBOB_GROUPS.values() for f in fs]
    assert sorted(members) == list(range(1, 25)) == sorted(BBOB_FUNCTIONS)
    assert list(BBOB_GROUP_TITLES) == list(BBOB_GROUPS)
    assert [bbob_group(f) for f in (1, 6, 10, 15, 20)] == list(BBOB_GROUPS)


@pytest.mark.parametrize("args", [(0, 2, 1), (25, 2, 1), (1, 1, 1), (1, 2, 0), (1.0, 2, 1),
                                  (True, 2, 1), ("1", 2, 1)])
def test_bad_triples_raise_before_coco_sees_them(args):
    with pytest.raises(ValueError, match="BBOB"):
        bbob_problem(*args)
    with pytest.raises(ValueError, match="BBOB"):
        bbob_suite(functions=[1, args[0]], dimensions=[2, args[1]], instances=[args[2]])


def test_wrong_shape_raises_instead_of_reading_past_the_array():
    f = BBOBFunction(1, 3, 1)
    with pytest.raises(ValueError, match="shape"):
        f(np.zeros(2))
    with pytest.raises(ValueError, match="shape"):
        f(np.zeros((2, 2, 3)))
    assert f(np.zeros(3, dtype=np.float32)) == f(np.zeros(3))
    assert f(np.asfortranarray(np.zeros((4, 3)))).shape == (4,)


def test_pickles_without_the_c_object_and_rebuilds_it_lazily():
    p = bbob_problem(15, 3, 2)
    x = np.linspace(-1, 1, 3)
    before = p.objective(x)
    q = pickle.loads(pickle.dumps(p))
    assert q.objective._coco is None            # built on first call, in the new process
    assert q.objective(x) == before and q.f_opt == p.f_opt and q.name == p.name
    assert q.objective == p.objective and hash(q.objective) == hash(p.objective)
    assert len(pickle.dumps(p.objective)) < 200


def test_suite_order_and_size():
    s = bbob_suite(functions=[2, 1], dimensions=[3, 2], instances=range(1, 3))
    assert list(s)[:3] == ["bbob_f02_i01_d03", "bbob_f02_i02_d03", "bbob_f02_i01_d02"]
    assert len(s) == 8 and all(isinstance(p, BBOBProblem) for p in s.values())


def test_compare_measures_the_gap_with_coco_targets_in_a_process_pool():
    from hybridlab.study import DEFAULT_TARGETS, compare

    problems = bbob_suite(functions=[1, 8], dimensions=[2], instances=[1])
    kwargs = dict(budget=40, seeds=2, progress=False)
    with ProcessPoolExecutor(2) as pool:
        study = compare(["random"], problems, executor=pool, **kwargs)
    serial = compare(["random"], problems, **kwargs)
    assert study.measure == "gap" and len(study.crashed) == 0
    for name, p in problems.items():
        info = study.meta["problems"][name]
        assert info["f_opt"] == p.f_opt and info["targets"] == list(DEFAULT_TARGETS)
    final = study.final()
    assert (final["gap"] >= 0).all()
    assert np.allclose(final["gap"], serial.final()["gap"])   # seeded: same in both
