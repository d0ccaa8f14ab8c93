"""Machine-learning workbench: search CV, data optimization, gradient-based HPO.

* :class:`HybridSearchCV` -- any hybridlab optimizer as a scikit-learn search
  (``cv_results_``, refit, ``n_jobs``, pipelines, conditional spaces);
* :mod:`~hybridlab.ml.data` -- outlier treatment, augmentation, the searchable
  :func:`preprocessing_pipeline` and its :func:`preprocessing_space`;
* :mod:`~hybridlab.ml.effects` -- one technique at a time, with a corrected t-test;
* :mod:`~hybridlab.ml.hpo` -- search methods side by side at equal budgets;
* :mod:`~hybridlab.ml.hypergrad` -- gradient-based HPO (hypergradient descent);
* :mod:`~hybridlab.ml.measure` -- measure before optimizing (accuracy, time, latency,
  memory);
* :mod:`~hybridlab.ml.train` -- the torch training loop (:func:`fit`), with
  :mod:`~hybridlab.ml.callbacks`, :mod:`~hybridlab.ml.checkpoints`,
  :mod:`~hybridlab.ml.monitor` and :mod:`~hybridlab.ml.models`;
* :mod:`~hybridlab.ml.hardware` -- devices, memory, and with
  :mod:`~hybridlab.ml.batch_size`, :mod:`~hybridlab.ml.precision`,
  :mod:`~hybridlab.ml.distributed`, :mod:`~hybridlab.ml.onnx_export` and
  :mod:`~hybridlab.ml.batching` the hardware techniques;
* :mod:`~hybridlab.ml.nets`, :mod:`~hybridlab.ml.activations`, :mod:`~hybridlab.ml.tying`,
  :mod:`~hybridlab.ml.nas` -- architectures as searchable configs;
* :mod:`~hybridlab.ml.compress` -- pruning, int8 quantization, distillation, sizes on disk.

Submodules load on first use (``hybridlab.ml.HybridSearchCV`` imports only the search).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "HybridSearchCV": "search",
    "OutlierClipper": "outliers",
    "DropOutliers": "outliers",
    "Augment": "augment",
    "ImageAugment": "augment",
    "augment_images": "augment",
    "preprocessing_pipeline": "data",
    "preprocessing_space": "data",
    "make_preprocessor": "data",
    "effects": "effects",
    "one_at_a_time": "effects",
    "plot_effects": "effects",
    "compare_searches": "hpo",
    "grid_of_at_most": "hpo",
    "plot_searches": "hpo",
    "HypergradientClassifier": "hypergrad",
    "hypergradient_search": "hypergrad",
    "measure": "measure",
    "optimizer_baselines": "measure",
    "fit": "train",
    "History": "history",
    "EarlyStopping": "callbacks",
    "Checkpointer": "checkpoints",
    "Monitor": "monitor",
    "latency": "monitor",
    "SmallCNN": "models",
    "digits_data": "models",
    "select_device": "hardware",
    "memory_stats": "hardware",
    "find_batch_size": "batch_size",
    "compare_precision": "precision",
    "train_ddp": "distributed",
    "export_onnx": "onnx_export",
    "compare_inference": "onnx_export",
    "DynamicBatcher": "batching",
    "build_cnn": "nets",
    "build_mlp": "nets",
    "count_parameters": "nets",
    "MixedActivation": "activations",
    "derive_activations": "activations",
    "architecture_space": "nas",
    "nas_problem": "nas",
    "nas_compare": "nas",
    "prune_global": "prune",
    "progressive_prune": "prune",
    "quantize_static": "quantize",
    "quantize_dynamic": "quantize",
    "saved_size": "model_size",
    "distill": "distill",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'hybridlab.ml' has no attribute {name!r}")
