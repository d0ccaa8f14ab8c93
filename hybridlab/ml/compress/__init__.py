"""Compression room: pruning, int8 quantization, distillation, honest sizes on disk.

* pruning -- :func:`prune_global`, :func:`prune_structured`, :func:`make_permanent`,
  :func:`permanent_copy`, :func:`is_pruned`, :func:`prunable_layers`, :func:`sparsity`,
  :func:`sparsity_schedule`, :func:`progressive_prune`, :func:`one_shot_prune`
  (:class:`SparsityReport`, :data:`PRUNABLE`);
* quantization -- :func:`quantize_dynamic` (eager), :func:`quantize_static` and
  :func:`quantize_qat` (FX graph mode), and :func:`freeze_for_inference` (TorchScript):
  what works on torch 2.13 without torchao, and what is deprecated, is described in their
  docstrings;
* distillation -- :func:`distillation_loss`, :func:`distillation_targets`, :func:`distill`;
* sizes -- :func:`param_counts`, :func:`saved_size` (writes the file and measures it),
  :func:`state_dict_for_saving`, :func:`save_compressed` / :func:`load_compressed` (a
  bitmask + LZMA format in which pruned and quantized weights really take less space).

``benchmarks/compression.py`` measures them together on the digits CNN.

Example
-------
>>> import torch
>>> from hybridlab.ml.compress import prune_global, saved_size
>>> from hybridlab.ml.train import SmallCNN
>>> _ = torch.manual_seed(0)
>>> model = SmallCNN(channels=(16, 32), hidden=128)
>>> before = saved_size(model)
>>> after = saved_size(prune_global(model, 0.9))
>>> bool(after["bytes_on_disk"] < 0.3 * before["bytes_on_disk"])
True
"""

from __future__ import annotations

from ._distill import distill, distillation_loss, distillation_targets
from ._model_size import (
    load_compressed,
    param_counts,
    save_compressed,
    saved_size,
    state_dict_for_saving,
)
from ._prune import (
    PRUNABLE,
    SparsityReport,
    is_pruned,
    make_permanent,
    one_shot_prune,
    permanent_copy,
    progressive_prune,
    prunable_layers,
    prune_global,
    prune_structured,
    sparsity,
    sparsity_schedule,
)
from ._quantize import freeze_for_inference, quantize_dynamic, quantize_qat, quantize_static

__all__ = [
    "PRUNABLE",
    "SparsityReport",
    "distill",
    "distillation_loss",
    "distillation_targets",
    "freeze_for_inference",
    "is_pruned",
    "load_compressed",
    "make_permanent",
    "one_shot_prune",
    "param_counts",
    "permanent_copy",
    "progressive_prune",
    "prunable_layers",
    "prune_global",
    "prune_structured",
    "quantize_dynamic",
    "quantize_qat",
    "quantize_static",
    "save_compressed",
    "saved_size",
    "sparsity",
    "sparsity_schedule",
    "state_dict_for_saving",
]
