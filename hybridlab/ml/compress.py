"""Model compression in one place: pruning, int8 quantization, distillation, honest sizes.

The functions live in four modules and are re-exported here:

* :mod:`~hybridlab.ml.prune` -- :func:`prune_global`, :func:`prune_structured`,
  :func:`make_permanent`, :func:`sparsity`, :func:`sparsity_schedule`,
  :func:`progressive_prune`, :func:`one_shot_prune`;
* :mod:`~hybridlab.ml.quantize` -- :func:`quantize_dynamic` (eager),
  :func:`quantize_static` and :func:`quantize_qat` (FX graph mode), and
  :func:`freeze_for_inference` (TorchScript) -- what works on torch 2.13 without torchao,
  and what is deprecated, is described there;
* :mod:`~hybridlab.ml.distill` -- :func:`distillation_loss`, :func:`distill`;
* :mod:`~hybridlab.ml.model_size` -- :func:`param_counts`, :func:`saved_size` (writes the
  file and measures it), :func:`save_compressed` / :func:`load_compressed` (a bitmask +
  LZMA format in which pruned and quantized weights really take less space).

``benchmarks/compression.py`` measures them together on the digits CNN.

Example
-------
>>> import torch
>>> from hybridlab.ml.compress import prune_global, saved_size
>>> from hybridlab.ml.models import SmallCNN
>>> _ = torch.manual_seed(0)
>>> model = SmallCNN(channels=(16, 32), hidden=128)
>>> before = saved_size(model)
>>> after = saved_size(prune_global(model, 0.9))
>>> bool(after["bytes_on_disk"] < 0.3 * before["bytes_on_disk"])
True
"""

from __future__ import annotations

from .distill import distill, distillation_loss, distillation_targets
from .model_size import (
    load_compressed,
    param_counts,
    save_compressed,
    saved_size,
    state_dict_for_saving,
)
from .prune import (
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
from .quantize import freeze_for_inference, quantize_dynamic, quantize_qat, quantize_static

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
