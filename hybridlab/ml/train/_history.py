"""What a training run leaves behind: :class:`History`, the per-epoch table of
:func:`hybridlab.ml.train.fit`, and its column names."""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["HISTORY_COLUMNS", "TIMING_COLUMNS", "History"]

#: Columns of :class:`History`, in order.
HISTORY_COLUMNS = (
    "epoch",
    "train_loss",
    "val_loss",
    "val_accuracy",
    "lr",
    "seconds",
    "samples_per_s",
    "peak_memory_mb",
)
#: Timing and memory columns: the ones that differ between two otherwise identical runs.
TIMING_COLUMNS = ("seconds", "samples_per_s", "peak_memory_mb")


class History:
    """What :func:`fit` returns: a DataFrame with one row per epoch, plus how the run ended.

    Columns (:data:`HISTORY_COLUMNS`): ``epoch`` (1-based), ``train_loss`` (mean loss of the
    epoch's training batches, without the L1 penalty, measured while the weights changed),
    ``val_loss`` and ``val_accuracy`` (after the epoch, in eval mode; NaN without a
    validation set), ``lr`` (of the first parameter group when the epoch started),
    ``seconds`` (the training pass, validation excluded), ``samples_per_s`` (training
    samples / seconds) and ``peak_memory_mb`` (see :class:`Monitor`).

    Attribute access falls through to the DataFrame (``history.val_loss``,
    ``history.iloc[-1]``, ``history.plot(...)``); :attr:`frame` is the DataFrame itself.

    Attributes
    ----------
    frame : pandas.DataFrame
        The per-epoch table.
    stopped_early : bool
        True when a callback (e.g. :class:`EarlyStopping`) or a non-finite loss ended the
        run before ``epochs``.
    stop_epoch : int or None
        The last epoch that ran.
    stop_reason : str or None
        Why the run ended early, in words (also a NaN loss); None when it ran to the end.
    best_epoch : int or None
        The best epoch of the first :class:`EarlyStopping` callback, else the epoch with
        the lowest ``val_loss`` (None without validation data).
    restored_best : bool
        True when :class:`EarlyStopping` put the best epoch's weights back into the model.
    precision, device : str
        The precision and device that were actually used (``fp16`` falls back to ``bf16``
        off CUDA).
    resumed_from : int or None
        The checkpoint epoch the run continued from.

    Example
    -------
    >>> h = History(pd.DataFrame({"epoch": [1, 2], "val_loss": [0.5, 0.4]}), best_epoch=2)
    >>> len(h), h.best_epoch, float(h.val_loss.min())
    (2, 2, 0.4)
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        *,
        stopped_early: bool = False,
        stop_epoch: int | None = None,
        stop_reason: str | None = None,
        best_epoch: int | None = None,
        restored_best: bool = False,
        precision: str = "fp32",
        device: str = "cpu",
        resumed_from: int | None = None,
    ) -> None:
        self.frame = frame
        self.stopped_early = stopped_early
        self.stop_epoch = stop_epoch
        self.stop_reason = stop_reason
        self.best_epoch = best_epoch
        self.restored_best = restored_best
        self.precision = precision
        self.device = device
        self.resumed_from = resumed_from

    def __getattr__(self, name: str) -> Any:
        if name == "frame" or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.frame, name)

    def __getitem__(self, key: Any) -> Any:
        return self.frame[key]

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def info(self) -> dict[str, Any]:
        """How the run ended, as a dict (everything but the table)."""
        return {k: getattr(self, k) for k in (
            "stopped_early", "stop_epoch", "stop_reason", "best_epoch", "restored_best",
            "precision", "device", "resumed_from")}

    def without_timing(self) -> pd.DataFrame:
        """The table without the timing and memory columns (what two equal runs share)."""
        return self.frame.drop(columns=[c for c in TIMING_COLUMNS if c in self.frame])

    def __repr__(self) -> str:
        extra = ", ".join(f"{k}={v!r}" for k, v in self.info.items() if v not in (None, False))
        return f"History({len(self)} epochs; {extra})\n{self.frame!r}"

    def _repr_html_(self) -> str:
        return self.frame._repr_html_()
