"""Hardware acceleration on this machine: precision, batch size, ONNX Runtime, DDP.

Measures, in one run, with hybridlab.ml.hardware:

* fp32 vs bf16 training step time on the CPU (autocast), for the digits SmallCNN and for a
  wide MLP whose large matrix products can use the CPU's bf16 units (AMX / AVX512-BF16);
* training throughput and memory per batch size (the batch-size finder's table);
* inference latency of ONNX Runtime vs eager torch at batch 1 and 256;
* DistributedDataParallel with 2 processes (1 thread each) vs 1 process with 1 thread and
  with one thread per core (the fair alternative: on a 2-core machine one process can already
  use both cores, and DDP adds an all-reduce per step and process start-up).

Single-process timings use ``--threads`` torch threads (default 1: core for core, and stable
when other jobs share the machine; 0 = one per core).  Prints the ratios and writes
reports/training/summary.md (atomically).

    python benchmarks/training.py [--quick] [--threads N] [--out reports/training/summary.md]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch
from torch import nn
from torch.utils.data import TensorDataset

import hybridlab as hl
from hybridlab.io import atomic_write
from hybridlab.ml.hardware import (
    compare_inference,
    compare_precision,
    device_report,
    export_onnx,
    find_batch_size,
    onnx_session,
    set_threads,
    train_ddp,
)
from hybridlab.ml.train import SmallCNN, digits_data


def wide_mlp(width: int = 1024) -> nn.Module:
    return nn.Sequential(nn.Linear(512, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                         nn.Linear(width, 10))


def md(table: pd.DataFrame, digits: int = 3) -> str:
    return table.to_markdown(index=False, floatfmt=f".{digits}g")


def bench_precision(digits: tuple, lines: list[str], out: list[str]) -> None:
    X, y, X_test, y_test = digits
    steps = hl.scaled(150, 20)
    cnn = compare_precision(SmallCNN, (X, y, X_test, y_test), ("fp32", "bf16", "fp16"),
                            steps=steps, batch_size=256, lr=3e-3, device="cpu")
    gen = torch.Generator().manual_seed(0)
    Xw = torch.randn(4096, 512, generator=gen)
    yw = (Xw @ torch.randn(512, 10, generator=gen)).argmax(1)  # a random linear teacher
    mlp = compare_precision(wide_mlp, (Xw[:3072], yw[:3072], Xw[3072:], yw[3072:]),
                            ("fp32", "bf16"), steps=hl.scaled(150, 10), batch_size=512, lr=1e-3,
                            device="cpu")
    cols = ["precision", "status", "step_ms", "samples_per_s", "speedup_vs_fp32", "eval_loss",
            "accuracy"]
    ratio = {}
    for name, table in (("SmallCNN, digits, batch 256", cnn),
                        ("wide MLP 512-1024-1024-10, batch 512", mlp)):
        t = table.set_index("precision")
        ratio[name] = t.loc["bf16", "step_ms"] / t.loc["fp32", "step_ms"]
        lines.append(f"  {name:40s} bf16/fp32 step time {ratio[name]:5.2f}x  "
                     f"(fp32 {t.loc['fp32', 'step_ms']:.2f} ms, bf16 {t.loc['bf16', 'step_ms']:.2f}"
                     f" ms; accuracy fp32 {t.loc['fp32', 'accuracy']:.3f}, "
                     f"bf16 {t.loc['bf16', 'accuracy']:.3f})")
        out += [f"### {name} ({steps if 'CNN' in name else hl.scaled(150, 10)} steps)", "",
                md(table[cols]), ""]
    skipped = cnn.set_index("precision").loc["fp16", "reason"]
    lines.append(f"  fp16 on the CPU: skipped ({skipped})")


def bench_batch_size(lines: list[str], out: list[str]) -> None:
    torch.manual_seed(0)
    found = find_batch_size(SmallCNN(), (1, 8, 8), device="cpu", start=8,
                            max_batch=hl.scaled(16384, 512), repeats=hl.scaled(5, 2), patience=2)
    t = found.table
    base = t["samples_per_s"].iloc[0]
    for row in t.itertuples():
        lines.append(f"  batch {row.batch_size:5d}: {row.samples_per_s:9.0f} samples/s "
                     f"({row.samples_per_s / base:5.2f}x batch {t['batch_size'].iloc[0]}), "
                     f"memory {row.memory_mb:7.2f} MB  {row.status}{'  <- chosen' * row.chosen}")
    lines.append(f"  chosen batch size {found.batch_size} (stopped by {found.stopped_by}); "
                 f"memory = {found.memory_note}")
    out += [f"Chosen batch size: **{found.batch_size}** (search stopped by "
            f"{found.stopped_by}); memory = {found.memory_note}.", "", md(t), ""]


def bench_onnx(digits: tuple, lines: list[str], out: list[str]) -> None:
    torch.manual_seed(0)
    model = SmallCNN().eval()
    X_test = digits[2]
    with tempfile.TemporaryDirectory() as tmp:
        session = onnx_session(export_onnx(model, X_test[:8], Path(tmp) / "cnn.onnx"))
        table = compare_inference(model, session, X_test, batch_sizes=(1, 256),
                                  repeats=hl.scaled(200, 20))
    for b in (1, 256):
        t = table[table["batch_size"] == b].set_index("runtime")
        ratio = t.loc["onnxruntime", "latency_ms_median"] / t.loc["torch", "latency_ms_median"]
        lines.append(f"  batch {b:3d}: onnxruntime/torch median latency {ratio:5.2f}x "
                     f"(torch {t.loc['torch', 'latency_ms_median']:.3f} ms, onnxruntime "
                     f"{t.loc['onnxruntime', 'latency_ms_median']:.3f} ms; "
                     f"max |diff| {t.loc['onnxruntime', 'max_abs_diff']:.1e})")
    out += [md(table, 4), ""]


def bench_ddp(digits_all: TensorDataset, lines: list[str], out: list[str]) -> None:
    X, y = digits_all.tensors
    n = len(X) - len(X) % 2  # even, so that both runs see exactly the same samples
    data = TensorDataset(X[:n], y[:n])
    cores = os.cpu_count() or 1
    kwargs = {"epochs": hl.scaled(8, 2), "batch_size": 64, "lr": 0.05, "momentum": 0.9,
              "seed": 0}
    runs = {
        "1 process x 1 thread": train_ddp(SmallCNN, data, world_size=1, threads_per_rank=1,
                                          **kwargs),
        f"1 process x {cores} threads": train_ddp(SmallCNN, data, world_size=1,
                                                  threads_per_rank=cores, **kwargs),
        "DDP 2 processes x 1 thread (gloo)": train_ddp(SmallCNN, data, world_size=2,
                                                       threads_per_rank=1, **kwargs),
    }
    one1, one_all, two = runs.values()
    diff = max(float((one1.state_dict[k] - two.state_dict[k]).abs().max())
               for k in one1.state_dict)
    for name, r in runs.items():
        lines.append(f"  {name:36s} {r.samples_per_s:8.0f} samples/s (wall {r.wall_s:5.2f} s, "
                     "including process start-up)")
    vs_one = two.samples_per_s / one1.samples_per_s
    vs_all = two.samples_per_s / one_all.samples_per_s
    lines += [f"  DDP 2-process / 1-process throughput: {vs_one:5.2f}x vs 1 thread, "
              f"{vs_all:5.2f}x vs {cores} threads; max |weight diff| DDP vs 1 process {diff:.1e}"]
    if vs_all < 1:
        lines.append(f"  DDP is slower than one process on all {cores} cores: it adds an "
                     "all-reduce per step and process start-up; it pays with one GPU per "
                     "process or more cores than one process can use.")
    elif one_all.samples_per_s < one1.samples_per_s:
        lines.append(f"  DDP wins here mostly because {cores} threads slowed one process down "
                     f"({one_all.samples_per_s / one1.samples_per_s:.2f}x one thread): the model "
                     "is too small to keep several threads busy (or other jobs hold cores).")
    table = pd.DataFrame([{"run": name, "processes": r.world_size,
                           "samples_per_s": r.samples_per_s, "wall_s": r.wall_s}
                          for name, r in runs.items()])
    out += [f"{kwargs['epochs']} epochs of {n} digits, global batch 64, SGD with momentum 0.9; "
            "throughput over the epochs after the first; wall time includes starting the "
            f"processes. Largest weight difference between DDP and 1 process: {diff:.1e}.", "",
            md(table), ""]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smoke run with tiny budgets")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads for single-process timings (0: one per core)")
    ap.add_argument("--out", default="reports/training/summary.md")
    args = ap.parse_args()
    if args.quick:
        os.environ["HYBRIDLAB_QUICK"] = "1"
    threads = set_threads(args.threads or None)
    train, val, test = digits_data(seed=0)
    digits = (*train.tensors, *test.tensors)
    everything = TensorDataset(*(torch.cat(t) for t in zip(train.tensors, val.tensors,
                                                             test.tensors, strict=True)))
    report = device_report()
    header = [f"device {report['selected_device']}, torch {report['torch']}, "
              f"onnxruntime {report['onnxruntime']}, {report['cpu_cores']} cores, {threads}, "
              f"CPU {report['cpu_capability']}, native bf16: {report['cpu_native_bf16']}, "
              f"quick mode: {hl.quick()}"]
    if not report["cuda_available"]:
        header.append("no GPU on this machine: CPU numbers only (the GPU paths exist)")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if load > report["cpu_cores"] / 2:
        header.append(f"busy machine: load average {load:.1f} on {report['cpu_cores']} cores "
                      "before the run; multi-threaded torch timings suffer most when another "
                      "process holds a core")
    print("\n".join(header))
    out = ["# Hardware acceleration benchmark (benchmarks/training.py)", "",
           f"Command: `python benchmarks/training.py {' '.join(sys.argv[1:])}`", "",
           *[f"- {h}" for h in header], "", "Ratios are measured in one run; other work on the "
           "machine at the same time shows up in them.", ""]
    sections = [
        ("fp32 vs bf16 training (CPU autocast)", lambda lo, o: bench_precision(digits, lo, o)),
        ("Training throughput per batch size (SmallCNN)", bench_batch_size),
        ("Inference: ONNX Runtime vs eager torch (SmallCNN)",
         lambda lo, o: bench_onnx(digits, lo, o)),
        ("DDP, 2 processes vs 1 process", lambda lo, o: bench_ddp(everything, lo, o)),
    ]
    t_all = time.perf_counter()
    for title, bench in sections:
        lines: list[str] = []
        t0 = time.perf_counter()
        body: list[str] = []
        bench(lines, body)
        print(f"\n{title} ({time.perf_counter() - t0:.1f} s)")
        print("\n".join(lines))
        out += [f"## {title}", "", "```", *lines, "```", "", *body]
    out.append(f"Total {time.perf_counter() - t_all:.0f} s.")
    atomic_write(args.out, lambda p: Path(p).write_text("\n".join(out) + "\n"))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
