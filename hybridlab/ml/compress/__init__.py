"""Compression room: pruning, int8 quantization, distillation, honest sizes on disk.

* pruning -- :func:`prune_global`, :func:`prune_structured`, :func:`make_permanent`,
  :func:`permanent_copy`, :func:`is_pruned`, :func:`prunable_layers`, :func:`sparsity`,
  :func:`sparsity_schedule`, :func:`progressive_prune`, :func:`one_shot_prune`
  (:class:`SparsityReport`, :data:`PRUNABLE`): masks, the tensors keep their size;
* structural pruning (torch-pruning, the ``compress`` extra) -- :func:`prune_channels`,
  :func:`progressive_channel_prune`, :func:`channel_counts`: channels removed, so the
  model is smaller and faster;
* int8 with torchao (the ``compress`` extra) -- :func:`quantize_int8` (dynamic,
  weight-only, or static through PT2E and the X86 Inductor quantizer) and
  :func:`compile_for_inference` (``torch.compile`` with weight freezing);
* quantization with ``torch.ao`` (deprecated by PyTorch, kept as a fallback) --
  :func:`quantize_dynamic` (eager), :func:`quantize_static` and
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

from ._channels import channel_counts, progressive_channel_prune, prune_channels
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
from ._torchao import INT8_MODES, compile_for_inference, quantize_int8

__all__ = [
    "INT8_MODES",
    "PRUNABLE",
    "SparsityReport",
    "channel_counts",
    "compile_for_inference",
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
    "progressive_channel_prune",
    "progressive_prune",
    "prunable_layers",
    "prune_channels",
    "prune_global",
    "prune_structured",
    "quantize_dynamic",
    "quantize_int8",
    "quantize_qat",
    "quantize_static",
    "save_compressed",
    "saved_size",
    "sparsity",
    "sparsity_schedule",
    "state_dict_for_saving",
]
