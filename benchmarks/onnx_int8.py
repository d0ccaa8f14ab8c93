"""Int8 ONNX Runtime on the digits CNN: float vs dynamic int8 vs static int8 (QDQ).

Trains the digits SmallCNN (channels (16, 32), hidden 128; seed 0, 10 epochs, 2 with
``--quick``), exports it to ONNX (hybridlab.ml.hardware.export_onnx, the exporter's
default), quantizes the file with ONNX Runtime (hybridlab.ml.hardware.quantize_onnx:
dynamic int8 weights; static int8 QDQ calibrated on 512 training images) and measures, in
the same run, for each file: bytes on disk, ratio to the float file, held-out (test)
accuracy in ONNX Runtime, and batch-1 latency (median and IQR over the rounds' medians,
one intra-op thread). Latency rounds rotate over the three files, so that background load
hits them alike. Nothing is tuned on the test set. Prints a markdown table.

    python benchmarks/onnx_int8.py [--quick] [--rounds N] [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime
import pandas as pd
import torch

import hybridlab as hl
from hybridlab.ml.hardware import export_onnx, onnx_accuracy, onnx_latency, quantize_onnx
from hybridlab.ml.train import SmallCNN, digits_data, fit


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smoke run (few epochs, repeats)")
    ap.add_argument("--rounds", type=int, default=5, help="latency rounds per file")
    ap.add_argument("--repeats", type=int, default=0,
                    help="timed calls per round (default 500; 50 with --quick)")
    args = ap.parse_args()
    if args.quick:
        os.environ["HYBRIDLAB_QUICK"] = "1"
    torch.set_num_threads(1)
    repeats = args.repeats or hl.scaled(500, 50)
    t_start = time.perf_counter()

    train, val, test = digits_data(seed=0)
    epochs = hl.scaled(10, 2)
    torch.manual_seed(0)
    model = SmallCNN(channels=(16, 32), hidden=128)
    fit(model, train, val, optimizer="adam", lr=3e-3, epochs=epochs, seed=0, device="cpu")
    model.eval()
    X, y = test.tensors
    with torch.inference_mode():
        torch_acc = float((model(X).argmax(1) == y).float().mean())

    with tempfile.TemporaryDirectory(prefix="onnx-int8-") as folder:
        src = export_onnx(model, train.tensors[0][:2], Path(folder) / "cnn.onnx")
        dynamic = quantize_onnx(src, Path(folder) / "cnn.dynamic.onnx", mode="dynamic")
        static = quantize_onnx(src, Path(folder) / "cnn.static.onnx", mode="static",
                               calibration=train.tensors[0], max_samples=512)
        files = {"float ONNX": (src, src.stat().st_size),
                 "dynamic int8": (dynamic["path"], dynamic["bytes_on_disk"]),
                 "static int8 QDQ": (static["path"], static["bytes_on_disk"])}
        medians: dict[str, list[float]] = {name: [] for name in files}
        example = X[:1]
        for _ in range(args.rounds):
            for name, (path, _size) in files.items():
                t = onnx_latency(path, example, threads=1, repeats=repeats, warmup=20)
                medians[name].append(t["median_us"])
        float_bytes = files["float ONNX"][1]
        rows = []
        for name, (path, size) in files.items():
            p25, p50, p75 = np.percentile(medians[name], [25, 50, 75])
            rows.append({"artifact": name, "bytes_on_disk": size,
                         "ratio_vs_float": size / float_bytes,
                         "test_accuracy": onnx_accuracy(path, X, y, threads=1),
                         "latency_b1_us_median": p50, "latency_b1_us_iqr": p75 - p25})
    table = pd.DataFrame(rows)
    table["speedup_vs_float"] = table["latency_b1_us_median"].iloc[0] / table[
        "latency_b1_us_median"]

    print(f"# int8 ONNX Runtime on the digits SmallCNN (16, 32) / 128, {epochs} epochs")
    print(f"onnxruntime {onnxruntime.__version__}, torch {torch.__version__}, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"torch eager test accuracy {torch_acc:.4f}; latency: {args.rounds} rounds x "
          f"{repeats} calls, batch 1, 1 intra-op thread; IQR over the round medians")
    print()
    print(table.to_markdown(index=False, floatfmt=".4g"))
    print(f"\n({time.perf_counter() - t_start:.0f} s)")


if __name__ == "__main__":
    main()
