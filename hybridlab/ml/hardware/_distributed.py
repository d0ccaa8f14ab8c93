"""Data-parallel training in several processes with ``DistributedDataParallel``.

:func:`train_ddp` starts ``world_size`` processes with ``torch.multiprocessing.spawn``
(rendezvous on ``127.0.0.1`` and a free port), wraps the model in
``DistributedDataParallel`` and gives each process its share of every global batch with a
``DistributedSampler``.  ``world_size=1`` trains in this process, without DDP, along the
same path: the reference that DDP must reproduce.

Why the two agree: with ``shuffle=True`` the sampler draws one permutation per epoch (seed
``seed + epoch``) and hands rank ``r`` the positions ``r, r + W, r + 2W, ...``.  Rank ``r``'s
k-th batch of ``B / W`` samples is therefore its share of positions ``k B .. (k + 1) B`` of
the permutation -- exactly the k-th global batch of ``B`` that a single process would take.
DDP averages the ranks' gradients, and the mean of ``W`` equal-sized batch means is the mean
over the global batch, so plain SGD steps agree up to floating-point summation order.

Everything sent to the workers must pickle: the model factory must be a top-level class or
function (or a :func:`functools.partial` of one), such as
:class:`~hybridlab.ml.train.TinyMLP`; lambdas and classes defined in a notebook do not.

Example
-------
>>> import functools, torch
>>> from torch.utils.data import TensorDataset
>>> from hybridlab.ml.hardware import train_ddp
>>> from hybridlab.ml.train import TinyMLP
>>> data = TensorDataset(torch.randn(64, 4), torch.randint(0, 2, (64,)))
>>> result = train_ddp(functools.partial(TinyMLP, 4, 8, 2), data, world_size=1, epochs=1,
...                    batch_size=16)
>>> result.history.columns.tolist()[:3]
['epoch', 'seconds', 'samples']
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from ._devices import set_threads

__all__ = ["DDPResult", "free_port", "train_ddp"]


@dataclass
class DDPResult:
    """What :func:`train_ddp` returns.

    Attributes
    ----------
    state_dict : dict of str to torch.Tensor
        Final weights (from rank 0, on the CPU; without DDP's ``module.`` prefix).
    history : pandas.DataFrame
        One row per epoch: ``epoch``, ``seconds``, ``samples`` (all ranks), ``samples_per_s``
        and ``loss`` (mean training loss over all ranks).
    world_size : int
    backend : str
        ``"gloo"``, ``"nccl"``, or ``"none"`` for the single-process reference.
    wall_s : float
        Whole call, including starting the processes and the rendezvous.
    """

    state_dict: dict[str, torch.Tensor]
    history: pd.DataFrame
    world_size: int
    backend: str
    wall_s: float = field(default=float("nan"))

    @property
    def samples_per_s(self) -> float:
        """Throughput over all epochs after the first (all epochs if there is only one)."""
        h = self.history.iloc[1:] if len(self.history) > 1 else self.history
        return float(h["samples"].sum() / h["seconds"].sum())

    def __repr__(self) -> str:
        return (f"DDPResult(world_size={self.world_size}, backend={self.backend!r}, "
                f"epochs={len(self.history)}, samples_per_s={self.samples_per_s:.0f}, "
                f"wall_s={self.wall_s:.2f})")


@dataclass(frozen=True)
class _Config:
    epochs: int
    batch_size: int  # per rank
    lr: float
    momentum: float
    seed: int
    threads: int | None
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago.

    Example
    -------
    >>> 0 < free_port() < 65536
    True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _train(model: nn.Module, dataset: Dataset, rank: int, world_size: int,
           device: torch.device, cfg: _Config) -> list[dict[str, Any]]:
    """The training loop that every rank (and the single-process reference) runs."""
    distributed = world_size > 1
    sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True,
                                 seed=cfg.seed, drop_last=True)
    loader = DataLoader(dataset, batch_size=cfg.batch_size, sampler=sampler)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
    history = []
    for epoch in range(cfg.epochs):
        sampler.set_epoch(epoch)
        if distributed:
            dist.barrier()
        t0 = time.perf_counter()
        loss_sum = torch.zeros(2, dtype=torch.float64, device=device)  # sum of losses, samples
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            loss = cfg.loss_fn(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += torch.stack([loss.detach().double() * len(yb),
                                     torch.tensor(float(len(yb)), device=device)])
        if distributed:
            dist.all_reduce(loss_sum)  # also waits for the slowest rank
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - t0
        samples = int(loss_sum[1])
        history.append({"epoch": epoch, "seconds": seconds, "samples": samples,
                        "samples_per_s": samples / seconds,
                        "loss": float(loss_sum[0] / max(samples, 1))})
    return history


def _worker(rank: int, world_size: int, port: int, backend: str,
            model_fn: Callable[[], nn.Module], dataset: Dataset, cfg: _Config,
            out_path: str) -> None:
    """One DDP rank (a top-level function, so that ``spawn`` can pickle it)."""
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    dist.init_process_group(backend, rank=rank, world_size=world_size)
    try:
        if backend == "nccl":
            device = torch.device("cuda", rank)
            torch.cuda.set_device(device)
        else:
            device = torch.device("cpu")
        torch.manual_seed(cfg.seed)
        model = model_fn().to(device)
        ddp = nn.parallel.DistributedDataParallel(
            model, device_ids=[rank] if device.type == "cuda" else None)
        history = _train(ddp, dataset, rank, world_size, device, cfg)
        if rank == 0:
            state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
            torch.save({"state_dict": state, "history": history}, out_path)
        dist.barrier()
    finally:
        dist.destroy_process_group()


def train_ddp(
    model_fn: Callable[[], nn.Module],
    dataset: Dataset,
    world_size: int = 2,
    backend: str | None = None,
    *,
    epochs: int = 1,
    batch_size: int = 64,
    lr: float = 0.1,
    seed: int = 0,
    momentum: float = 0.0,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    threads_per_rank: int | None = None,
) -> DDPResult:
    """Train with ``DistributedDataParallel`` in ``world_size`` processes (SGD).

    Parameters
    ----------
    model_fn : callable
        Returns a fresh model; called after ``torch.manual_seed(seed)`` in every process
        (DDP also copies rank 0's weights to the others).  Must pickle (see module notes).
    dataset : torch.utils.data.Dataset
        Map-style, yielding ``(x, y)``; it is pickled to every process, so keep it in memory
        and modest (a ``TensorDataset``), or make it load lazily.
    world_size : int
        Processes; 1 trains in this process without DDP (the reference).
    backend : str, optional
        ``"gloo"`` on the CPU, ``"nccl"`` (one GPU per rank) when CUDA has ``world_size``
        devices; chosen automatically when ``None``.
    epochs, lr, momentum, seed : int, float, float, int
        SGD settings and the seed of initial weights and data order.
    batch_size : int
        *Global* batch per step, split evenly over the ranks (must divide by
        ``world_size``).  Each epoch drops the last ``len(dataset) % world_size`` samples of
        its permutation so that every rank takes the same number of steps; results match the
        single-process run exactly when ``len(dataset)`` divides by ``world_size``.
    loss_fn : callable, optional
        ``loss_fn(output, y)``; cross-entropy by default.  Must pickle.
    threads_per_rank : int, optional
        Torch threads in each worker; ``cpu_count // world_size`` by default, so that the
        ranks do not fight over cores.  With ``world_size=1``, the threads of this process
        (unchanged when ``None``).

    Returns
    -------
    DDPResult
        Final ``state_dict`` and per-epoch throughput.

    Example
    -------
    >>> import functools, torch
    >>> from torch.utils.data import TensorDataset
    >>> from hybridlab.ml.train import TinyMLP
    >>> data = TensorDataset(torch.randn(64, 4), torch.randint(0, 2, (64,)))
    >>> two = train_ddp(functools.partial(TinyMLP, 4, 8, 2), data, world_size=2,
    ...                 batch_size=16)  # doctest: +SKIP
    >>> one = train_ddp(functools.partial(TinyMLP, 4, 8, 2), data, world_size=1,
    ...                 batch_size=16)  # doctest: +SKIP
    >>> all(torch.allclose(two.state_dict[k], one.state_dict[k], atol=1e-5)
    ...     for k in one.state_dict)  # doctest: +SKIP
    True

    (Skipped as a doctest: tests/test_ml_hardware.py checks exactly this, and the module
    example runs ``train_ddp`` once.)
    """
    if world_size < 1:
        raise ValueError(f"world_size must be >= 1, got {world_size}")
    if batch_size % world_size:
        raise ValueError(f"batch_size {batch_size} must divide by world_size {world_size}")
    if backend is None:
        backend = ("nccl" if torch.cuda.is_available()
                   and torch.cuda.device_count() >= world_size and dist.is_nccl_available()
                   else "gloo")
    loss_fn = loss_fn or F.cross_entropy
    t0 = time.perf_counter()
    if world_size == 1:
        cfg = _Config(epochs, batch_size, lr, momentum, seed, threads_per_rank, loss_fn)
        device = torch.device("cuda") if backend == "nccl" else torch.device("cpu")
        threads = set_threads(threads_per_rank or torch.get_num_threads())
        with threads:
            torch.manual_seed(seed)
            model = model_fn().to(device)
            history = _train(model, dataset, 0, 1, device, cfg)
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        return DDPResult(state, pd.DataFrame(history), 1, "none", time.perf_counter() - t0)

    if not dist.is_available():
        raise RuntimeError("torch.distributed is not available in this torch build")
    threads = threads_per_rank or max(1, (os.cpu_count() or 1) // world_size)
    cfg = _Config(epochs, batch_size // world_size, lr, momentum, seed, threads, loss_fn)
    with tempfile.TemporaryDirectory(prefix="hybridlab-ddp-") as tmp:
        out_path = os.path.join(tmp, "rank0.pt")
        mp.spawn(_worker, args=(world_size, free_port(), backend, model_fn, dataset, cfg,
                                out_path), nprocs=world_size, join=True)
        saved = torch.load(out_path, weights_only=True)
    return DDPResult(saved["state_dict"], pd.DataFrame(saved["history"]), world_size, backend,
                     time.perf_counter() - t0)
