"""Vectorised objectives: score a whole population with one call.

With ``Problem(f, space, vectorized=True)`` the driver calls ``f`` once per batch that an
optimizer asks for (a GA generation, a swarm's particles) instead of once per point.
For a real space ``f`` gets an ``(n, d)`` array; for a mixed space a dict of columns
(see :class:`~hybridlab.problem.Problem`).  It returns ``n`` values.

When vectorising pays
---------------------
* **Cheap numpy objectives** -- benchmark functions, closed-form models, surrogate
  predictions: the cost of one Python call per point (tens of microseconds with the
  driver's bookkeeping) dwarfs the arithmetic, and one call per batch removes it.  The
  gain is bounded by what the optimizer itself spends per point: a swarm whose update is
  numpy gains most, a GA whose operators are per-individual Python gains less (run
  ``python benchmarks/vectorized.py`` for the numbers on your machine).
* **Tensor objectives** -- a network scoring a batch of inputs, a differentiable
  simulator: :func:`torch_objective` hands the whole population to torch, on a GPU when
  there is one, where one kernel launch per batch replaces ``n``.  A GPU pays for large
  batches only: for a 10-d Rastrigin on an H200, a batch of 100 took ~130 us on CUDA
  (launches and host transfers) against ~33 us in numpy, while a batch of 10,000 ran
  ~15x faster than numpy.

When it does not
----------------
* **Expensive objectives** -- training a model, running a simulation, a cross-validated
  fit: each point takes seconds, per-call overhead is noise, and one call per batch only
  serialises work that could run side by side.  Keep ``vectorized=False`` and pass an
  executor (``minimize(..., executor=ProcessPoolExecutor())``, or a Ray or Dask executor)
  so that points are evaluated in parallel and one failing point fails alone.
* **Objectives that fail point by point**: a vectorised call that raises fails its whole
  batch (a NaN only fails its row).
* **Trivial pure-Python objectives on mixed spaces**: the batch is first turned into a
  dict of columns (a fraction of a microsecond per point), about what one Python call per
  point costs; vectorising pays once the objective does real array work.

:func:`vectorize` turns a per-point function into a batch function by looping; it does
not make anything faster and exists to compare the two paths on the same function.

Example
-------
>>> import numpy as np
>>> from hybridlab import Problem, Space, minimize
>>> def sphere(X):                      # torch tensor (n, d) -> (n,)
...     return (X ** 2).sum(dim=1)
>>> f = torch_objective(sphere, device="cpu")
>>> f(np.array([[1.0, 2.0], [0.0, 3.0]]))
array([5., 9.])
>>> r = minimize(Problem(f, Space.box(3, -5, 5), vectorized=True), "pso", budget=300,
...              seed=0)
>>> r.y < 1.0
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = ["TorchObjective", "Vectorized", "torch_objective", "vectorize"]


class TorchObjective:
    """A torch function of an ``(n, d)`` tensor as a numpy vectorised objective.

    Made by :func:`torch_objective`; a class rather than a closure so that it pickles to
    process pools (the device is chosen again in each process, on first call).
    """

    def __init__(self, fn: Callable[[Any], Any], device: Any = "auto",
                 dtype: Any = None) -> None:
        if not callable(fn):
            raise ValueError(f"fn must be callable (a torch tensor (n, d) -> (n,)), "
                             f"got {type(fn).__name__}")
        self.fn = fn
        self.device = device
        self.dtype = dtype
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)
        self._device: Any = None  # resolved lazily, per process

    def __call__(self, X: Any) -> np.ndarray:
        import torch

        if isinstance(X, Mapping):
            raise TypeError("torch_objective needs an (n, d) array: use it with a real space "
                            "(every dimension Real), not a dict of columns")
        dev = self.resolved_device()
        dtype = _torch_dtype(torch, self.dtype)
        with torch.no_grad():  # cast on the host: a float32 batch moves half the bytes
            out = self.fn(torch.as_tensor(np.asarray(X, dtype=float), dtype=dtype, device=dev))
        if isinstance(out, torch.Tensor):
            return out.detach().to(device="cpu", dtype=torch.float64).numpy()
        return np.asarray(out, dtype=np.float64)

    def resolved_device(self) -> Any:
        """The ``torch.device`` used: ``"auto"`` is CUDA when available, else the CPU."""
        if self._device is None:
            import torch

            name = "cuda" if self.device == "auto" and torch.cuda.is_available() else \
                "cpu" if self.device == "auto" else self.device
            self._device = torch.device(name)
        return self._device

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_device": None}

    def __repr__(self) -> str:
        return f"torch_objective({self.__name__}, device={self.device!r}, " \
               f"dtype={self.dtype!r})"


def _torch_dtype(torch: Any, dtype: Any) -> Any:
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    found = getattr(torch, str(dtype), None)
    if not isinstance(found, torch.dtype):
        raise ValueError(f"dtype must be a torch dtype or its name ('float32', "
                         f"'float64', ...), got {dtype!r}")
    return found


def torch_objective(fn: Callable[[Any], Any], device: Any = "auto",
                    dtype: Any = None) -> TorchObjective:
    """Wrap a torch function ``(n, d) tensor -> (n,) tensor`` as a vectorised objective.

    Parameters
    ----------
    fn : callable
        Takes a torch tensor of shape ``(n, d)`` (the batch in user space) and returns
        ``n`` values (a tensor, or anything numpy can read).
    device : str or torch.device
        Where ``fn`` runs: ``"auto"`` (default) picks CUDA when available, else the CPU;
        or ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...
    dtype : torch.dtype or str, optional
        The tensor's dtype; by default the batch's own (float64).  ``torch.float32``
        halves the transfer and is much faster for matrix-heavy functions (networks) on
        a GPU, at single precision.

    Returns
    -------
    TorchObjective
        A picklable callable ``(n, d) numpy array -> (n,) float64 numpy array`` that runs
        ``fn`` under ``torch.no_grad()``; pass it with ``vectorized=True``.  torch is
        imported on first call, not before.

    Example
    -------
    >>> import numpy as np
    >>> f = torch_objective(lambda X: X.abs().sum(dim=1), device="cpu")
    >>> f(np.array([[1.0, -2.0], [0.5, 0.5]]))
    array([3., 1.])
    """
    return TorchObjective(fn, device=device, dtype=dtype)


class Vectorized:
    """A per-point function applied to every point of a batch (made by :func:`vectorize`)."""

    def __init__(self, fn: Callable[[Any], float]) -> None:
        if not callable(fn):
            raise ValueError(f"fn must be callable, got {type(fn).__name__}")
        self.fn = fn
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)

    def __call__(self, batch: Any) -> np.ndarray:
        return np.array([float(self.fn(x)) for x in _points(batch)], dtype=float)

    def __repr__(self) -> str:
        return f"vectorize({self.__name__})"


def _points(batch: Any) -> list[Any]:
    """The points of a batch: rows of an array, dicts of a dict of columns, or as given."""
    if isinstance(batch, Mapping):
        cols = {k: np.asarray(v).tolist() for k, v in batch.items()}
        n = len(next(iter(cols.values()), []))
        return [{k: v[i] for k, v in cols.items()} for i in range(n)]
    return list(batch)


def vectorize(fn: Callable[[Any], float]) -> Vectorized:
    """Turn a per-point objective into a batch objective, by looping over the points.

    For comparisons (same function, per-point versus vectorised path), not for speed.

    Parameters
    ----------
    fn : callable
        Takes one point (a 1-d array, or a dict) and returns a float.

    Returns
    -------
    Vectorized
        Takes an ``(n, d)`` array, a dict of columns (each point then a dict of Python
        values, ``None`` where a column holds ``None``) or a list of points, and returns
        an ``(n,)`` float array.  Picklable when ``fn`` is.

    Example
    -------
    >>> import numpy as np
    >>> f = vectorize(lambda x: float(np.sum(x ** 2)))
    >>> f(np.array([[1.0, 2.0], [0.0, 3.0]]))
    array([5., 9.])
    >>> vectorize(lambda p: p["k"] * len(p["s"]))({"k": np.array([1, 2]),
    ...                                            "s": np.array(["a", "bb"], dtype=object)})
    array([1., 4.])
    """
    return Vectorized(fn)
