"""Machine learning with hybridlab: eight rooms, each a package with one public ``__init__``.

=========================  =================================================================
room                       what it holds
=========================  =================================================================
:mod:`.ml.data`            preprocessing pipeline and its search space, outliers, new
                           features, augmentation, effects of one technique at a time
                           (no torch)
:mod:`.ml.train`           the torch training loop :func:`~hybridlab.ml.train.fit`, callbacks,
                           checkpoints, history, monitor, torch optimizers and schedules,
                           losses by name and as a search space, data loaders, the small
                           model zoo, epochs as a fidelity
:mod:`.ml.nets`            networks from a config, activations, weight tying, NAS
:mod:`.ml.compress`        pruning, int8 quantization, distillation, sizes on disk
:mod:`.ml.hardware`        devices and memory, mixed precision, batch-size finder, dynamic
                           batching, DDP, ONNX export
:mod:`.ml.search`          ``HybridSearchCV``, search comparisons, hypergradient HPO (no torch)
:mod:`.ml.measure`         measure before optimizing; single-optimizer baselines; plots
:mod:`.ml.drift`           drifting streams, drift detectors, re-tuning when they fire (no
                           torch)
=========================  =================================================================

Rooms import each other only downwards: ``data`` and ``train`` at the bottom (independent),
``nets``, ``compress`` and ``hardware`` above ``train``, ``search`` (uses neither torch nor
the torch rooms), ``measure`` and ``drift`` at the top (both use ``search``). Every public
name has one import path, ``hybridlab.ml.<room>.<Name>``; ``import hybridlab.ml`` itself
imports no room.

Example
-------
>>> from hybridlab.ml.search import HybridSearchCV
>>> from hybridlab.ml.data import preprocessing_pipeline, preprocessing_space

Old flat names
--------------
Until hybridlab 0.2 the names lived flat in ``hybridlab.ml`` (``hybridlab.ml.fit``,
``hybridlab.ml.HybridSearchCV``, ...). The module ``__getattr__`` below is the one lazy
loader of the package: it still serves those names, from their room, with a
``DeprecationWarning`` naming the new path; it will be removed in hybridlab 0.3.
``hybridlab.ml.measure`` is now the measure room, so the old function of that name is
``hybridlab.ml.measure.measure``.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

__all__: list[str] = []

#: old flat name -> the room that holds it now (deprecated; removed in hybridlab 0.3)
_MOVED = {
    "HybridSearchCV": "search",
    "compare_searches": "search",
    "grid_of_at_most": "search",
    "plot_searches": "search",
    "HypergradientClassifier": "search",
    "hypergradient_search": "search",
    "OutlierClipper": "data",
    "DropOutliers": "data",
    "Augment": "data",
    "ImageAugment": "data",
    "augment_images": "data",
    "preprocessing_pipeline": "data",
    "preprocessing_space": "data",
    "make_preprocessor": "data",
    "effects": "data",
    "one_at_a_time": "data",
    "plot_effects": "data",
    "optimizer_baselines": "measure",
    "fit": "train",
    "History": "train",
    "EarlyStopping": "train",
    "Checkpointer": "train",
    "Monitor": "train",
    "latency": "train",
    "SmallCNN": "train",
    "digits_data": "train",
    "select_device": "hardware",
    "memory_stats": "hardware",
    "find_batch_size": "hardware",
    "compare_precision": "hardware",
    "train_ddp": "hardware",
    "export_onnx": "hardware",
    "compare_inference": "hardware",
    "DynamicBatcher": "hardware",
    "build_cnn": "nets",
    "build_mlp": "nets",
    "count_parameters": "nets",
    "MixedActivation": "nets",
    "derive_activations": "nets",
    "architecture_space": "nets",
    "nas_problem": "nets",
    "nas_compare": "nets",
    "prune_global": "compress",
    "progressive_prune": "compress",
    "quantize_static": "compress",
    "quantize_dynamic": "compress",
    "saved_size": "compress",
    "distill": "compress",
}


def __getattr__(name: str) -> Any:
    """Serve an old flat name from its room, with a ``DeprecationWarning``."""
    room = _MOVED.get(name)
    if room is None:
        raise AttributeError(f"module 'hybridlab.ml' has no attribute {name!r}")
    new = f"hybridlab.ml.{room}.{name}"
    warnings.warn(f"hybridlab.ml.{name} moved to {new}; the old path will be removed in "
                  f"hybridlab 0.3", DeprecationWarning, stacklevel=2)
    return getattr(importlib.import_module(f"hybridlab.ml.{room}"), name)
