"""Training epochs as a fidelity: :class:`EpochsObjective`, a resumable torch objective.

:class:`EpochsObjective` turns "train this configuration for ``r`` epochs and score it"
into an objective ``f(params, fidelity=r)`` that **resumes** from the checkpoint of the
same configuration's last evaluation (its lower rung) instead of retraining, so promoting a
candidate from 3 to 9 epochs costs 6 epochs, and the result equals training 9 epochs
straight (:func:`hybridlab.ml.train.fit` restores weights, optimizer and data order).
Declare it with ``Problem(objective, space, fidelity=Fidelity(1, 27, resumable=True))``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["EpochsObjective"]


def _key(params: Any) -> str:
    text = json.dumps(params, sort_keys=True, default=repr)
    return hashlib.sha1(text.encode()).hexdigest()[:20]


class EpochsObjective:
    """``f(params, fidelity)``: train ``build(params)`` for ``fidelity`` epochs, resuming
    from the checkpoint of the same params, and return ``1 - validation accuracy``.

    Parameters
    ----------
    build : callable
        ``params -> torch.nn.Module`` (a module-level function, so the objective pickles).
    train, val : Dataset or (X, y)
        Training and validation data.
    fit_kwargs : callable, optional
        ``params -> dict`` of extra :func:`~hybridlab.ml.train.fit` arguments (optimizer,
        lr, batch_size, weight_decay, ...); no learning-rate schedule whose length depends
        on the epochs, or a resumed run would differ from a straight one.
    seed : int
        Seeds the initial weights and the batch order of every configuration.
    cache_dir : str or Path, optional
        Where checkpoints live (one folder per configuration); a temporary folder removed
        with this object by default.
    resume : bool
        ``False`` retrains from scratch at every fidelity (for comparison).

    Attributes
    ----------
    epochs_trained : int
        Epochs actually trained by this object (in this process).
    """

    def __init__(self, build: Callable[[dict[str, Any]], Any], train: Any, val: Any, *,
                 fit_kwargs: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
                 seed: int = 0, cache_dir: str | Path | None = None,
                 resume: bool = True) -> None:
        if not callable(build):
            raise ValueError(f"build must be a callable params -> torch module, got {build!r}")
        self.build, self.train, self.val = build, train, val
        self.fit_kwargs, self.seed, self.resume = fit_kwargs, int(seed), bool(resume)
        if cache_dir is None:
            cache_dir = tempfile.mkdtemp(prefix="hybridlab-epochs-")
            weakref.finalize(self, shutil.rmtree, cache_dir, True)
        self.cache_dir = str(cache_dir)
        self.epochs_trained = 0

    def __call__(self, params: dict[str, Any], fidelity: float) -> float:
        import torch

        from ._checkpoints import Checkpointer, latest_checkpoint, load_checkpoint
        from ._fit import fit
        from ._monitor import accuracy

        epochs = round(float(fidelity))
        if epochs < 1:
            raise ValueError(f"fidelity must be >= 1 epoch, got {fidelity!r}")
        folder = Path(self.cache_dir) / _key(params)
        start = 0
        resume_from = latest_checkpoint(folder) if self.resume and folder.exists() else None
        if resume_from is not None:
            start = int(load_checkpoint(resume_from)["epoch"])
            if start > epochs:  # asked for less than already trained: start afresh
                shutil.rmtree(folder, ignore_errors=True)
                resume_from, start = None, 0
        torch.manual_seed(self.seed)
        model = self.build(params)
        kwargs = self.fit_kwargs(params) if self.fit_kwargs is not None else {}
        checkpoint = Checkpointer(folder, keep_last=1, save_best=False) if self.resume \
            else None
        fit(model, self.train, None, epochs=epochs, seed=self.seed, device="cpu",
            checkpoint=checkpoint, resume=resume_from, **kwargs)
        self.epochs_trained += epochs - start
        return 1.0 - accuracy(model, self.val)
