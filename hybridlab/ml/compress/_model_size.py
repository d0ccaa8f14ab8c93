"""Honest model sizes: parameters counted, files written and measured.

* :func:`param_counts` -- total and nonzero weights (float, pruned or quantized models);
* :func:`save_compressed` / :func:`load_compressed` -- a compact file format for state
  dicts in which pruning and quantization really shrink the file, with an exact round trip;
* :func:`saved_size` -- *writes* the model to a temporary file (plain ``torch.save`` or the
  compact format) and returns the file's size in bytes: a measurement, not an estimate.

The compact format
------------------
Pruned weights keep their shape (zeros are stored like any other number), so
``torch.save`` of a 90 %-sparse model is as large as the dense one. The compact format
stores each tensor of the state dict as

* **bitmask + nonzero values** when that is smaller than the dense tensor: one bit per
  element (``numpy.packbits`` of ``t != 0``) plus the nonzero values in their own dtype --
  for float32 weights that costs ``1 + 32 * density`` bits per weight, less than
  coordinate lists with int16 / int32 indices (``16 + 32 * density`` or more) at every
  density above ~2 %, and it is exact;
* **dense** otherwise;
* quantized tensors (``qint8`` / ``quint8``, per-tensor or per-channel) as their integer
  representation (itself bitmask-encoded when sparse: a pruned weight quantizes to exactly
  the zero point 0 of symmetric int8 weights) plus their scales, zero points and axis.

The encoded dict (plain tensors, lists, numbers, strings, dtypes) is serialised with
``torch.save`` and the bytes compressed with LZMA (``preset 9 | PRESET_EXTREME``); the file
starts with the magic line ``HLCZ1``. LZMA squeezes the zip container and the bitmasks but
hardly float weights (their mantissas are close to random): measure a dense model in the
same format for a fair comparison (``saved_size(..., method="lzma")`` is torch.save + LZMA
without the bitmask encoding). Loading uses ``torch.load(weights_only=True)``.

Example
-------
>>> import torch
>>> from torch import nn
>>> _ = torch.manual_seed(0)
>>> model = nn.Linear(256, 256)
>>> dense = saved_size(model)["bytes_on_disk"]
>>> with torch.no_grad():
...     model.weight[model.weight.abs() < 0.05] = 0   # ~80 % zeros
>>> sparse = saved_size(model)["bytes_on_disk"]
>>> bool(sparse < 0.4 * dense)
True
"""

from __future__ import annotations

import io
import lzma
import os
import tempfile
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from ._prune import is_pruned, permanent_copy

__all__ = ["load_compressed", "param_counts", "save_compressed", "saved_size",
           "state_dict_for_saving"]

_MAGIC = b"HLCZ1\n"
_METHODS = ("sparse", "lzma")


def _effective_weights(model: nn.Module) -> list[torch.Tensor]:
    """Weights and biases as the model uses them (masked / dequantized)."""
    out: list[torch.Tensor] = []
    for module in model.modules():
        own = dict(module._parameters)
        if own:
            for name, p in own.items():
                if p is None:
                    continue
                if name.endswith("_orig") and isinstance(getattr(module, name[:-5], None),
                                                         torch.Tensor):
                    out.append(getattr(module, name[:-5]).detach())  # pruned: masked weight
                else:
                    out.append(p.detach())
            continue
        weight = getattr(type(module), "weight", None)
        if callable(weight):  # torch.ao.nn.quantized modules: weight() / bias() methods
            try:
                w = module.weight()
            except (RuntimeError, TypeError, AttributeError):
                continue
            if isinstance(w, torch.Tensor):
                out.append(w.dequantize() if w.is_quantized else w.detach())
            bias = getattr(module, "bias", None)
            b = bias() if callable(bias) else None
            if isinstance(b, torch.Tensor):
                out.append(b.detach())
    return out


def param_counts(model: nn.Module) -> dict[str, int]:
    """Total and nonzero weights of ``model``.

    Counts the parameters of float modules (for pruned layers the *masked* weight, so the
    zeros of the mask count as zeros) and the weights and biases of quantized modules
    (``torch.ao.nn.quantized`` Linear / Conv, static or dynamic; a weight is nonzero when its
    dequantized value is). Buffers (batch-norm statistics, quantization scales) are not
    counted. Quantized RNN modules are not counted.

    Returns
    -------
    dict
        ``{"total": int, "nonzero": int}``.

    Example
    -------
    >>> from torch import nn
    >>> m = nn.Linear(3, 2)
    >>> with torch.no_grad():
    ...     m.weight[0] = 0
    >>> param_counts(m)
    {'total': 8, 'nonzero': 5}
    """
    weights = _effective_weights(model)
    return {"total": int(sum(w.numel() for w in weights)),
            "nonzero": int(sum(int((w != 0).sum()) for w in weights))}


def state_dict_for_saving(model: nn.Module) -> dict[str, Any]:
    """``model.state_dict()``, with pruning masks folded in (on a copy) when present."""
    return (permanent_copy(model) if is_pruned(model) else model).state_dict()


# ---- encoding ----------------------------------------------------------------------------
def _encode_plain(t: torch.Tensor) -> dict[str, Any]:
    t = t.detach().cpu().contiguous()
    n = t.numel()
    nonzero = t != 0
    nnz = int(nonzero.sum())
    if n and t.dtype != torch.bool and (n + 7) // 8 + nnz * t.element_size() < n * t.element_size():
        bits = np.packbits(nonzero.numpy().ravel())
        return {"kind": "sparse", "shape": list(t.shape), "dtype": t.dtype,
                "mask": torch.from_numpy(bits), "values": t[nonzero].clone()}
    return {"kind": "dense", "tensor": t.clone()}


def _decode_plain(rec: Mapping[str, Any]) -> torch.Tensor:
    if rec["kind"] == "dense":
        return rec["tensor"]
    shape = rec["shape"]
    n = int(np.prod(shape)) if shape else 1
    mask = torch.from_numpy(np.unpackbits(rec["mask"].numpy(), count=n).astype(bool))
    out = torch.zeros(n, dtype=rec["dtype"])
    out[mask] = rec["values"]
    return out.reshape(shape)


def _encode(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        if value.is_quantized:
            rec: dict[str, Any] = {"kind": "quantized", "dtype": value.dtype,
                                   "int_repr": _encode_plain(value.int_repr())}
            if value.qscheme() in (torch.per_tensor_affine, torch.per_tensor_symmetric):
                rec.update(scheme="per_tensor", scale=float(value.q_scale()),
                           zero_point=int(value.q_zero_point()))
            elif value.qscheme() in (torch.per_channel_affine,
                                     torch.per_channel_symmetric):
                rec.update(scheme="per_channel", scale=value.q_per_channel_scales().clone(),
                           zero_point=value.q_per_channel_zero_points().clone(),
                           axis=int(value.q_per_channel_axis()))
            else:
                raise ValueError(f"unsupported quantization scheme {value.qscheme()}")
            return rec
        return _encode_plain(value)
    if isinstance(value, tuple | list):
        return {"kind": "tuple" if isinstance(value, tuple) else "list",
                "items": [_encode(v) for v in value]}
    if value is None or isinstance(value, bool | int | float | str | torch.dtype):
        return {"kind": "value", "value": value}
    raise TypeError(f"cannot store a {type(value).__name__} in the compact format")


def _decode(rec: Mapping[str, Any]) -> Any:
    kind = rec["kind"]
    if kind in ("dense", "sparse"):
        return _decode_plain(rec)
    if kind == "quantized":
        ints = _decode_plain(rec["int_repr"])
        # torch.ao's quantized tensors are deprecated in torch 2.13, and torch says so
        # here: the compact format of the FX fallback lets that warning through
        if rec["scheme"] == "per_tensor":
            return torch._make_per_tensor_quantized_tensor(ints, rec["scale"],
                                                           rec["zero_point"])
        return torch._make_per_channel_quantized_tensor(ints, rec["scale"],
                                                        rec["zero_point"], rec["axis"])
    if kind in ("tuple", "list"):
        items = [_decode(r) for r in rec["items"]]
        return tuple(items) if kind == "tuple" else items
    if kind == "value":
        return rec["value"]
    raise ValueError(f"unknown record kind {kind!r}")


def _dumps(state: Mapping[str, Any], method: str) -> bytes:
    if method not in _METHODS:
        raise ValueError(f"unknown method {method!r}; use one of {list(_METHODS)}")
    encoded = ({k: _encode(v) for k, v in state.items()} if method == "sparse"
               else {k: {"kind": "raw", "value": v} for k, v in state.items()})
    # the per-module versions that modules' _load_from_state_dict rely on (quantized Linear)
    metadata = {k: dict(v) for k, v in getattr(state, "_metadata", {}).items()}
    buf = io.BytesIO()
    torch.save({"format": f"hybridlab-compact-{method}", "state": encoded,
                "metadata": metadata}, buf)
    return _MAGIC + lzma.compress(buf.getvalue(), preset=9 | lzma.PRESET_EXTREME)


def save_compressed(model: nn.Module, path: str | os.PathLike, method: str = "sparse") -> int:
    """Write ``model``'s state dict to ``path`` in the compact format; return the file size.

    ``method="sparse"`` (default) uses the bitmask encoding described in the module
    docstring, ``"lzma"`` only LZMA-compresses plain ``torch.save`` bytes (for comparison;
    quantized tensors then rely on torch's own pickling). Pruning masks are folded in first
    (on a copy). Read back with :func:`load_compressed`.

    Example
    -------
    >>> import tempfile, torch
    >>> from torch import nn
    >>> m = nn.Linear(4, 3)
    >>> path = tempfile.mkdtemp() + "/m.hlcz"
    >>> save_compressed(m, path) > 0
    True
    >>> m2 = load_compressed(path, nn.Linear(4, 3))
    >>> torch.equal(m2.weight, m.weight)
    True
    """
    data = _dumps(state_dict_for_saving(model), method)
    with open(path, "wb") as f:
        f.write(data)
    return os.path.getsize(path)


def load_compressed(path: str | os.PathLike, model: nn.Module) -> nn.Module:
    """Load a :func:`save_compressed` file into ``model`` (same architecture); return it.

    ``model`` must have the saved model's structure: build a float model the same way, or
    for a quantized one run the same quantization function on a fresh float model first
    (the file holds weights, not code). A pruning reparametrisation on ``model`` is folded
    in first (:func:`~hybridlab.ml.compress.make_permanent`), since the file holds plain
    weights. Loading is strict and exact: the tensors equal the saved ones bit for bit.
    """
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(_MAGIC):
        raise ValueError(f"{path}: not a hybridlab compact model file (no {_MAGIC!r} header)")
    with warnings.catch_warnings():  # quantized tensors in "lzma" files: TypedStorage note
        warnings.filterwarnings("ignore", message=r".*TypedStorage is deprecated.*")
        payload = torch.load(io.BytesIO(lzma.decompress(data[len(_MAGIC):])),
                             weights_only=True)
    encoded = payload["state"]
    state = OrderedDict((k, rec["value"] if rec["kind"] == "raw" else _decode(rec))
                        for k, rec in encoded.items())
    state._metadata = OrderedDict(payload.get("metadata", {}))  # type: ignore[attr-defined]
    if is_pruned(model):
        from ._prune import make_permanent

        make_permanent(model)
    model.load_state_dict(state, strict=True)
    return model


def saved_size(model: nn.Module, compress: bool = True, method: str = "sparse") -> dict[str, Any]:
    """Save ``model`` to a temporary file and measure it.

    Parameters
    ----------
    model : torch.nn.Module
        Float, pruned (masks are folded in on a copy) or quantized.
    compress : bool, default True
        True: the compact format of :func:`save_compressed`; False: plain
        ``torch.save(model.state_dict())``, the usual checkpoint.
    method : {"sparse", "lzma"}, default "sparse"
        The compact format's encoding (ignored when ``compress=False``).

    The file is named ``model.pt`` in a temporary folder (``torch.save`` stores the name
    in its zip archive, so the size depends on it by a few bytes).

    Returns
    -------
    dict
        ``bytes_on_disk`` (the file size), ``params`` and ``nonzero`` (see
        :func:`param_counts`) and ``format``.

    Example
    -------
    >>> from torch import nn
    >>> size = saved_size(nn.Linear(100, 10), compress=False)
    >>> size["params"], size["format"], size["bytes_on_disk"] > 4 * 1010
    (1010, 'torch.save', True)
    """
    with tempfile.TemporaryDirectory() as folder:
        # a fixed name: torch.save's zip archive records it, so the size depends on it
        tmp = os.path.join(folder, "model.pt")
        if compress:
            save_compressed(model, tmp, method=method)
            fmt = f"compact-{method}"
        else:
            torch.save(state_dict_for_saving(model), tmp)
            fmt = "torch.save"
        size = os.path.getsize(tmp)
    return {"bytes_on_disk": size, **{("params" if k == "total" else k): v
                                      for k, v in param_counts(model).items()},
            "format": fmt}
