"""Case study 2's models as deployable artifacts, measured where they run.

Four variants of the digits CNN, each a file a runtime loads:

* ``baseline`` -- the float model exported to ONNX (dynamo exporter);
* ``pruned`` -- channels removed (:func:`~hybridlab.ml.compress.progressive_channel_prune`,
  cubic schedule, fine-tuned), exported to ONNX: smaller tensors, fewer operations;
* ``int8`` / ``pruned + int8`` -- those ONNX files quantized by ONNX Runtime (static int8,
  QDQ, calibrated on 512 training images).

Each file is measured in ONNX Runtime: bytes on disk, validation and test accuracy, and
batch-1 latency with one intra-op thread (rounds rotate over the files so that background
load hits them alike).  For the torch side, :func:`torch_latency` times the float models
and torchao's static int8 models compiled by ``torch.compile`` (Inductor, weight
freezing) with one torch thread.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from hybridlab.ml.compress import compile_for_inference, progressive_channel_prune, quantize_int8
from hybridlab.ml.hardware import export_onnx, onnx_accuracy, onnx_latency, quantize_onnx

__all__ = ["VARIANTS", "build_artifacts", "measure_files", "targets", "torch_latency"]

VARIANTS = ("baseline", "pruned", "int8", "pruned + int8")


def build_artifacts(base: nn.Module, data: tuple[Any, Any, Any], ratio: float,
                    folder: Path, *, steps: int = 4, finetune_epochs: int = 2,
                    seed: int = 0) -> tuple[dict[str, Path], dict[str, nn.Module]]:
    """The four ONNX files of :data:`VARIANTS` in ``folder``, and the two float models.

    ``ratio`` of each layer's channels are removed in ``steps`` steps, each followed by
    ``finetune_epochs`` epochs (Adam, lr 1e-3, seed ``seed + t``).
    """
    train, val, _ = data
    example = train.tensors[0][:2]
    pruned, _ = progressive_channel_prune(copy.deepcopy(base), example[:1], train, val,
                                          target=ratio, steps=steps, schedule="cubic",
                                          finetune_epochs=finetune_epochs, lr=1e-3, seed=seed,
                                          optimizer="adam")
    pruned.eval()
    folder = Path(folder)
    files = {"baseline": export_onnx(base, example, folder / "baseline.onnx"),
             "pruned": export_onnx(pruned, example, folder / "pruned.onnx")}
    for src, name in (("baseline", "int8"), ("pruned", "pruned + int8")):
        info = quantize_onnx(files[src], folder / f"{name.replace(' + ', '-')}.onnx",
                             mode="static", calibration=train.tensors[0], max_samples=512)
        files[name] = Path(info["path"])
    return files, {"baseline": base, "pruned": pruned}


def measure_files(files: dict[str, Path], data: tuple[Any, Any, Any], *, repeats: int = 500,
                  rounds: int = 5) -> pd.DataFrame:
    """One row per file: ``bytes_on_disk``, ``val_accuracy``, ``test_accuracy`` (ONNX
    Runtime) and batch-1 latency ``ort_b1_us`` (median over rounds of each round's median)
    with ``ort_b1_us_iqr``, one intra-op thread."""
    _, val, test = data
    example = test.tensors[0][:1]
    medians: dict[str, list[float]] = {name: [] for name in files}
    for _ in range(rounds):
        for name, path in files.items():
            medians[name].append(onnx_latency(path, example, threads=1, repeats=repeats,
                                              warmup=20)["median_us"])
    rows = []
    for name, path in files.items():
        p25, p50, p75 = np.percentile(medians[name], [25, 50, 75])
        rows.append({"variant": name, "bytes_on_disk": path.stat().st_size,
                     "val_accuracy": onnx_accuracy(path, *val.tensors, threads=1),
                     "test_accuracy": onnx_accuracy(path, *test.tensors, threads=1),
                     "ort_b1_us": p50, "ort_b1_us_iqr": p75 - p25})
    return pd.DataFrame(rows)


def _time_us(fn: Callable[[torch.Tensor], Any], x: torch.Tensor, repeats: int) -> float:
    """Median microseconds of ``fn(x)`` with one torch thread (pinned here)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            for _ in range(20):
                fn(x)
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter_ns()
                fn(x)
                times.append(time.perf_counter_ns() - t0)
    finally:
        torch.set_num_threads(threads)
    return float(np.median(times)) / 1e3


def torch_latency(models: dict[str, nn.Module], data: tuple[Any, Any, Any], *,
                  repeats: int = 500) -> pd.DataFrame:
    """Batch-1 latency in torch of the float models (``torch.compile``) and of torchao's
    static int8 models (PT2E, compiled with weight freezing), one thread; rows named as
    :data:`VARIANTS` (``int8`` from ``baseline``, ``pruned + int8`` from ``pruned``)."""
    train, _, test = data
    x = test.tensors[0][:1]
    rows = []
    for name, model in models.items():
        compiled = compile_for_inference(model.eval(), x)
        q = quantize_int8(model, "static", calibration=train.tensors[0][:512])
        q_compiled = compile_for_inference(q, x)
        int8_name = "int8" if name == "baseline" else f"{name} + int8"
        rows += [{"variant": name, "compile_b1_us": _time_us(compiled, x, repeats),
                  "eager_b1_us": _time_us(model, x, repeats)},
                 {"variant": int8_name, "compile_b1_us": _time_us(q_compiled, x, repeats),
                  "eager_b1_us": _time_us(q, x, repeats)}]
    return pd.DataFrame(rows)


def targets(summary: pd.DataFrame, variant: str = "pruned + int8"
            ) -> dict[str, tuple[bool, str]]:
    """Issue 20's targets for ``variant`` against ``baseline``, all on the ONNX files in
    ONNX Runtime: at least 70 % smaller (goal 88 %), at most 1 point less test accuracy,
    batch-1 latency no worse."""
    s = summary.set_index("variant")
    b, t = s.loc["baseline"], s.loc[variant]
    smaller = 100 * (1 - t.bytes_on_disk / b.bytes_on_disk)
    loss = 100 * (b.test_accuracy - t.test_accuracy)
    return {
        "size": (bool(smaller >= 70.0), f"{smaller:.1f}% smaller ({t.bytes_on_disk:.0f} vs "
                 f"{b.bytes_on_disk:.0f} bytes, ONNX files) -- target >= 70%, goal >= 88%"),
        "accuracy": (bool(loss <= 1.0), f"test accuracy {t.test_accuracy:.4f} vs "
                     f"{b.test_accuracy:.4f} ({-loss:+.2f} points) -- target loss <= 1"),
        "latency b1": (bool(t.ort_b1_us <= b.ort_b1_us), f"{t.ort_b1_us:.1f} vs "
                       f"{b.ort_b1_us:.1f} us at batch 1 in ONNX Runtime, 1 thread "
                       f"-- target not worse"),
    }
