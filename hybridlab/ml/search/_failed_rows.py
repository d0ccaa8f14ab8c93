"""Candidates whose every fit failed, put back into a search's ``cv_results_``.

scikit-learn's ``evaluate_candidates`` raises "All the N fits failed" when every fit of
one call fails, and keeps nothing of that call: right for a grid evaluated in one call,
wrong for a search that asks a few candidates at a time.  :class:`HybridSearchCV` catches
that error for its own call only (scikit-learn is left as it is for everyone else),
remembers the batch with :class:`FailedBatches`, and after the search merges those
candidates into ``cv_results_`` where they were asked, scored as scikit-learn scores a
failed fit (``error_score`` on every split; times unknown, NaN).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.stats import rankdata

__all__ = ["FailedBatches", "all_fits_failed"]


def all_fits_failed(exc: BaseException) -> bool:
    """Whether ``exc`` is scikit-learn's "All the N fits failed" error."""
    return isinstance(exc, ValueError) and str(exc).lstrip().startswith("All the ") \
        and "fits failed" in str(exc)


class FailedBatches:
    """The batches of a search in which every fit failed, and where they were asked."""

    def __init__(self) -> None:
        self.asked = 0  # candidates asked so far, failed or not
        self.rows: list[tuple[int, dict[str, Any], dict[str, Any]]] = []

    def ok(self, n: int) -> None:
        """``n`` candidates were scored by scikit-learn (they are in its results)."""
        self.asked += n

    def failed(self, params: list[dict[str, Any]], more: Mapping[str, list] | None) -> None:
        """A batch in which every fit failed (``more``: its ``more_results`` columns)."""
        for j, p in enumerate(params):
            extra = {k: v[j] for k, v in (more or {}).items()}
            self.rows.append((self.asked + j, dict(p), extra))
        self.asked += len(params)

    def merge(self, results: dict[str, Any], error_score: float
              ) -> tuple[dict[str, Any], np.ndarray]:
        """``results`` with the failed candidates in place, and the new index of each
        old row (to move ``best_index_``)."""
        n_old = len(results["params"])
        n = n_old + len(self.rows)
        at_failed = np.array([i for i, _, _ in self.rows], dtype=int)
        keep = np.setdiff1d(np.arange(n), at_failed)  # where the old rows go
        params: list[dict[str, Any]] = [{}] * n
        for i, p in zip(keep, results["params"], strict=True):
            params[i] = p
        for i, p, _ in self.rows:
            params[i] = p
        out: dict[str, Any] = {"params": params}
        for key, col in results.items():
            if key == "params" or key.startswith(("param_", "rank_")):
                continue
            out[key] = self._column(key, col, keep, at_failed, n, error_score)
        out.update(_param_columns(params, results))
        for key in results:
            if key.startswith("rank_"):
                out[key] = _rank(out["mean_" + key[len("rank_"):]])
        return {k: out[k] for k in _ordered(results, out)}, keep

    def _column(self, key: str, col: Any, keep: np.ndarray, at_failed: np.ndarray, n: int,
                error_score: float) -> Any:
        extra = [e.get(key) for _, _, e in self.rows]
        if key.endswith("_time") or not (key.startswith(("split", "mean_", "std_"))
                                         or any(key in e for _, _, e in self.rows)):
            fill: list[Any] = [np.nan] * len(self.rows)  # unknown: times, other columns
        elif key.startswith("std_"):
            fill = [0.0 if np.isfinite(error_score) else np.nan] * len(self.rows)
        elif any(key in e for _, _, e in self.rows):
            fill = extra
        else:
            fill = [error_score] * len(self.rows)
        if isinstance(col, list):
            merged: list[Any] = [None] * n
            for i, v in zip(keep, col, strict=True):
                merged[i] = v
            for i, v in zip(at_failed, fill, strict=True):
                merged[i] = v
            return merged
        arr = np.asarray(col)
        dtype = arr.dtype if arr.dtype.kind in "fO" else np.result_type(arr.dtype, float)
        merged_arr = np.empty(n, dtype=dtype)
        merged_arr[keep] = arr
        merged_arr[at_failed] = fill
        return merged_arr


def _param_columns(params: list[dict[str, Any]], results: Mapping[str, Any]) -> dict:
    """``param_<name>`` masked arrays over all candidates (masked where a candidate has
    no such parameter), in the dtype scikit-learn chose where the values allow it."""
    names = list(dict.fromkeys(k for p in params for k in p))
    cols = {}
    for name in names:
        col = np.ma.MaskedArray(np.empty(len(params), dtype=object),
                                mask=[name not in p for p in params])
        for i, p in enumerate(params):
            if name in p:
                col[i] = p[name]
        old = results.get(f"param_{name}")
        if old is not None and old.dtype != object:
            try:
                col = col.astype(old.dtype)
            except (TypeError, ValueError):
                pass
        cols[f"param_{name}"] = col
    return cols


def _rank(means: np.ndarray) -> np.ndarray:
    """scikit-learn's rule: highest mean first, failed (NaN) candidates tied last."""
    means = np.asarray(means, dtype=float)
    if np.isnan(means).all():
        return np.ones(len(means), dtype=np.int32)
    filled = np.nan_to_num(means, nan=np.nanmin(means) - 1)
    return rankdata(-filled, method="min").astype(np.int32)


def _ordered(results: Mapping[str, Any], out: Mapping[str, Any]) -> list[str]:
    """scikit-learn's key order, with parameter columns only failed candidates had."""
    keys = [k for k in results if k in out]
    return keys + [k for k in out if k not in results]
