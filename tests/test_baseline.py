import numpy as np
import pytest

from hybridlab import Grid, LatinHypercube, RandomSearch, make


def _run(opt, dim, steps):
    opt.start(dim, np.random.default_rng(0))
    out = []
    for _ in range(steps):
        X = opt.ask()
        opt.tell(X, X.sum(axis=1))
        out.append(X)
    return out


def test_random_search_batches_uniform():
    X = np.vstack(_run(RandomSearch(batch_size=100), 3, 20))
    assert X.shape == (2000, 3)
    assert abs(X.mean() - 0.5) < 0.02


def test_lhs_batches_are_latin():
    for X in _run(LatinHypercube(batch_size=10), 4, 3):
        for j in range(4):  # one point per tenth of every axis
            assert sorted(np.floor(X[:, j] * 10).astype(int)) == list(range(10))


def test_grid_covers_cell_centres_then_stops():
    g = Grid(levels=3, batch_size=4)
    batches = _run(g, 2, 3)
    X = np.vstack(batches)
    assert [len(b) for b in batches] == [4, 4, 1] and g.stop()
    expected = {(a, b) for a in (1 / 6, 0.5, 5 / 6) for b in (1 / 6, 0.5, 5 / 6)}
    assert {tuple(np.round(r, 12)) for r in X} == {tuple(np.round(e, 12)) for e in expected}


def test_grid_refuses_huge_grids():
    with pytest.raises(ValueError, match="exceeds max_points"):
        Grid(levels=10).start(10, np.random.default_rng(0))


@pytest.mark.parametrize("cls", [RandomSearch, LatinHypercube, Grid])
def test_bad_batch_size(cls):
    with pytest.raises(ValueError, match="batch_size"):
        cls(batch_size=0)


def test_registry_names():
    assert make("random").name == "random" and make("lhs").name == "lhs"
    assert make("grid", levels=2).levels == 2
