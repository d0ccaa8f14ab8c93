"""Hardware toolkit: devices, memory, OOM advice, batch-size finder, mixed precision, DDP,
ONNX Runtime and dynamic batching.  CPU paths run everywhere; GPU paths skip without CUDA."""

from __future__ import annotations

import functools
import importlib
import sys
import threading
import time
from concurrent.futures import CancelledError

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from hybridlab.ml.hardware import (
    DynamicBatcher,
    compare_precision,
    device_report,
    empty_cache,
    explain_oom,
    find_batch_size,
    limit_memory,
    measure_batching,
    memory_stats,
    oom_advice,
    reset_peak,
    select_device,
    set_threads,
    train_ddp,
)
from hybridlab.ml.train import TinyCNN, TinyMLP

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _blobs(n: int = 256, d: int = 16, k: int = 4, seed: int = 0):
    """Separable Gaussian blobs as float / long tensors."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, k, (n,), generator=g)
    centers = 3 * torch.randn(k, d, generator=g)
    return centers[y] + torch.randn(n, d, generator=g), y


# ----------------------------------------------------------------------------- 1. device, memory
def test_device_threads_and_memory_on_cpu():
    assert select_device("cpu") == torch.device("cpu")
    assert select_device("auto").type in ("cuda", "mps", "cpu")
    with pytest.raises(ValueError, match="unknown device"):
        select_device("tpu")
    if not torch.cuda.is_available():
        with pytest.warns(RuntimeWarning, match="not available"):
            assert select_device("cuda") == torch.device("cpu")

    old = torch.get_num_threads()
    with set_threads(1) as change:
        assert (change.before, change.after, torch.get_num_threads()) == (old, 1, 1)
    assert torch.get_num_threads() == old

    stats = memory_stats("cpu")
    assert stats["rss_mb"] > 10 and stats["peak_rss_mb"] >= 0.9 * stats["rss_mb"]
    block = np.ones(32 * 1024**2 // 8)  # 32 MB, touched
    assert memory_stats("cpu")["peak_rss_mb"] >= stats["rss_mb"] + 25
    del block
    if reset_peak("cpu"):  # Linux: the high-water mark drops back to about the current RSS
        after = memory_stats("cpu")
        assert after["peak_rss_mb"] <= after["rss_mb"] + 5
    assert empty_cache("cpu")["device"] == "cpu"
    assert limit_memory(0.5, "cpu").startswith("no-op on cpu")
    with pytest.raises(ValueError):
        limit_memory(1.5, "cpu")
    report = device_report()
    assert report["cpu_cores"] >= 1 and report["cuda_available"] == torch.cuda.is_available()
    from hybridlab.ml import hardware

    assert hardware.find_batch_size is find_batch_size  # one room, one import path
    assert hardware.train_ddp is train_ddp


def test_oom_errors_come_with_advice():
    original = torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    with pytest.raises(torch.OutOfMemoryError) as info, explain_oom(batch_size=256, device="cpu"):
        raise original
    message = str(info.value)
    assert info.value.__cause__ is original
    for advice in ("batch_size=128", "accumulation", "bfloat16", "empty_cache", "Tried to"):
        assert advice in message
    # the CPU allocator's failure is a RuntimeError; it keeps its type
    with pytest.raises(RuntimeError, match="smaller batch"), explain_oom(device="cpu"):
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried 9 GB")
    with pytest.raises(KeyError), explain_oom(device="cpu"):  # other errors pass untouched
        raise KeyError("x")
    assert "batch_size=32" in oom_advice(MemoryError(), batch_size=64, device="cpu")


# ----------------------------------------------------------------------------- 2. batch-size finder
def test_batch_size_finder_respects_a_memory_limit():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.BatchNorm1d(128), nn.ReLU(),
                          nn.Linear(128, 10))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    free = find_batch_size(model, (1, 8, 8), device="cpu", start=8, max_batch=512, repeats=1,
                           plateau=-1.0)  # plateau=-1: every size counts as an improvement
    mem = free.table.set_index("batch_size")["memory_mb"]
    assert free.batch_size == 512 and free.stopped_by == "max_batch"
    assert np.all(np.diff(mem.to_numpy()) > 0)  # saved activations grow with the batch
    limit = (mem[64] + mem[128]) / 2
    found = find_batch_size(model, (1, 8, 8), device="cpu", start=8, max_batch=512, repeats=1,
                            plateau=-1.0, memory_limit_mb=limit)
    table = found.table.set_index("batch_size")
    assert found.batch_size == 64 and found.stopped_by == "over_limit"
    assert table.loc[64, "memory_mb"] < limit < table.loc[128, "memory_mb"]
    assert table.loc[128, "status"] == "over_limit" and table["chosen"].sum() == 1
    assert 512 not in table.index  # the search stopped at the first size over the limit
    # weights, batch-norm statistics and gradients are as they were
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    with pytest.raises(RuntimeError, match="does not fit"):
        find_batch_size(model, (1, 8, 8), device="cpu", start=8, memory_limit_mb=1e-6)


def test_batch_size_finder_stops_on_a_throughput_plateau():
    clock = [0.0]

    class Costly(nn.Module):
        """Linear layer whose step 'takes' 1 ms up to 32 samples, then 1 ms per 32 samples."""

        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(4, 2)

        def forward(self, x):
            clock[0] += 1e-3 * max(1.0, x.shape[0] / 32)
            return self.lin(x)

    found = find_batch_size(Costly(), (4,), device="cpu", start=8, max_batch=1024,
                            timer=lambda: clock[0])
    assert found.batch_size == 32 and found.stopped_by == "plateau"
    assert found.table["batch_size"].tolist() == [8, 16, 32, 64]
    assert found.table["status"].tolist() == ["ok", "ok", "ok", "plateau"]
    assert found.table.loc[2, "samples_per_s"] == pytest.approx(32_000)
    patient = find_batch_size(Costly(), (4,), device="cpu", start=8, max_batch=1024,
                              timer=lambda: clock[0], patience=2)
    assert patient.batch_size == 32 and patient.table["batch_size"].max() == 128


# ----------------------------------------------------------------------------- 3. precision
def test_compare_precision_on_cpu():
    X, y = _blobs(512)
    table = compare_precision(functools.partial(TinyMLP, 16, 32, 4), (X[:384], y[:384],
                              X[384:], y[384:]), ("fp32", "bf16", "fp16"), steps=40,
                              batch_size=32, lr=1e-2, device="cpu").set_index("precision")
    assert table.loc["fp16", "status"] == "skipped" and "bf16" in table.loc["fp16", "reason"]
    for p in ("fp32", "bf16"):
        assert table.loc[p, "status"] == "ok"
        assert table.loc[p, "accuracy"] > 0.8  # separable blobs: both precisions learn
        assert table.loc[p, "step_ms"] > 0 and table.loc[p, "samples_per_s"] > 0
    assert table.loc["fp32", "speedup_vs_fp32"] == pytest.approx(1.0)
    # bf16 keeps 8 mantissa bits: same trajectory, slightly different losses
    assert abs(table.loc["bf16", "eval_loss"] - table.loc["fp32", "eval_loss"]) < 0.1
    with pytest.raises(ValueError, match="unknown precision"):
        compare_precision(TinyMLP, (X, y), ("int4",), steps=5, device="cpu")


@needs_cuda
def test_gpu_paths():
    X, y = _blobs(512)
    table = compare_precision(functools.partial(TinyMLP, 16, 32, 4), (X, y),
                              ("fp32", "bf16", "fp16"), steps=20, device="cuda")
    assert table.set_index("precision").loc["fp16", "status"] == "ok"  # with GradScaler
    assert set(memory_stats("cuda")) >= {"allocated_mb", "reserved_mb", "max_allocated_mb"}
    assert reset_peak("cuda") is True
    found = find_batch_size(TinyCNN().cuda(), (1, 8, 8), device="cuda", max_batch=256)
    assert found.table["memory_mb"].notna().all()


# ----------------------------------------------------------------------------- 4. distributed
def test_ddp_two_processes_match_one_process():
    X, y = _blobs(256)
    data = TensorDataset(X, y)
    model_fn = functools.partial(TinyMLP, 16, 32, 4)
    kwargs = {"epochs": 2, "batch_size": 32, "lr": 0.1, "seed": 3}
    one = train_ddp(model_fn, data, world_size=1, **kwargs)
    two = train_ddp(model_fn, data, world_size=2, backend="gloo", **kwargs)
    assert (one.backend, two.backend, two.world_size) == ("none", "gloo", 2)
    torch.manual_seed(3)
    start = model_fn().state_dict()
    for k, v in one.state_dict.items():
        assert not torch.allclose(v, start[k])  # training moved the weights...
        torch.testing.assert_close(two.state_dict[k], v, atol=1e-5, rtol=0)  # ...identically
    assert two.history["samples"].tolist() == [256, 256]
    np.testing.assert_allclose(two.history["loss"], one.history["loss"], atol=1e-5)
    assert one.history["loss"].iloc[-1] < one.history["loss"].iloc[0]
    assert two.samples_per_s > 0
    with pytest.raises(ValueError, match="divide"):
        train_ddp(model_fn, data, world_size=2, batch_size=33)


# ----------------------------------------------------------------------------- 5. ONNX
def test_onnx_export_matches_torch(tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from hybridlab.ml.hardware import compare_inference, export_onnx, onnx_session

    torch.manual_seed(0)
    model = TinyCNN().train()
    path = export_onnx(model, torch.randn(1, 1, 8, 8), tmp_path / "cnn.onnx")
    assert model.training  # mode restored
    assert [p.name for p in tmp_path.iterdir()] == ["cnn.onnx"]  # no temporary file left
    session = onnx_session(path, threads=1)
    model.eval()
    for batch in (1, 5, 64):  # dynamic batch axis
        x = torch.randn(batch, 1, 8, 8)
        with torch.inference_mode():
            expected = model(x).numpy()
        np.testing.assert_allclose(session.run(None, {"input": x.numpy()})[0], expected,
                                   atol=1e-4, rtol=0)
    table = compare_inference(model, session, torch.randn(20, 1, 8, 8), (1, 32), repeats=3)
    assert len(table) == 4 and (table["latency_ms_median"] > 0).all()
    assert (table["max_abs_diff"] < 1e-4).all()
    assert (table["latency_ms_p95"] >= table["latency_ms_median"]).all()


def test_onnx_functions_name_the_pip_command_when_packages_are_missing(monkeypatch,
                                                                        tmp_path):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` fail
    monkeypatch.delitem(sys.modules, "hybridlab.ml.hardware", raising=False)
    hardware = importlib.import_module("hybridlab.ml.hardware")  # imports without them
    with pytest.raises(ImportError, match="pip install onnx onnxruntime"):
        hardware.onnx_session(tmp_path / "missing.onnx")


# ----------------------------------------------------------------------------- 6. dynamic batching
def test_dynamic_batcher_results_order_and_batch_limit():
    torch.manual_seed(0)
    model = nn.Linear(6, 3).eval()

    def predict(batch):
        with torch.inference_mode():
            return model(batch)

    xs = torch.randn(200, 6)
    with DynamicBatcher(predict, max_batch_size=8, max_wait_ms=5) as server:
        results: dict[int, torch.Tensor] = {}

        def client(rows):
            futures = [(i, server.submit(xs[i])) for i in rows]
            results.update({i: f.result(timeout=10) for i, f in futures})

        threads = [threading.Thread(target=client, args=(range(k, 200, 4),)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    torch.testing.assert_close(torch.stack([results[i] for i in range(200)]), predict(xs))
    assert sum(server.batch_sizes) == 200
    assert max(server.batch_sizes) <= 8 and max(server.batch_sizes) > 1  # it did batch


def test_dynamic_batcher_timing():
    with DynamicBatcher(lambda b: b + 1, max_batch_size=16, max_wait_ms=50) as server:
        t0 = time.perf_counter()
        assert server.predict(np.zeros(2), timeout=5).tolist() == [1.0, 1.0]
        waited = time.perf_counter() - t0
    assert 0.045 <= waited < 0.5  # a lone request waits max_wait for company, then runs
    with DynamicBatcher(lambda b: b + 1, max_batch_size=1, max_wait_ms=1000) as server:
        t0 = time.perf_counter()
        server.predict(np.zeros(2), timeout=5)
        assert time.perf_counter() - t0 < 0.5  # no batching: no waiting


def test_dynamic_batcher_close_drains_or_cancels():
    def slow(batch):
        time.sleep(0.01)
        return batch * 2

    server = DynamicBatcher(slow, max_batch_size=3, max_wait_ms=1)
    futures = [server.submit(np.array([i])) for i in range(10)]
    server.close(drain=True)
    assert [int(f.result(timeout=0)[0]) for f in futures] == [2 * i for i in range(10)]
    with pytest.raises(RuntimeError, match="closed"):
        server.submit(np.array([1]))
    server.close()  # twice is fine

    started, release = threading.Event(), threading.Event()

    def blocking(batch):
        started.set()
        release.wait(5)
        return batch

    server = DynamicBatcher(blocking, max_batch_size=4, max_wait_ms=0)
    first = server.submit(np.array([0]))
    assert started.wait(5)
    rest = [server.submit(np.array([i])) for i in range(1, 8)]
    threading.Timer(0.05, release.set).start()
    server.close(drain=False)
    assert int(first.result(timeout=0)[0]) == 0  # the running batch finishes
    assert all(f.cancelled() for f in rest)
    with pytest.raises(CancelledError):
        rest[0].result(timeout=0)


def test_dynamic_batcher_errors_reach_the_callers():
    def picky(batch):
        if (batch < 0).any():
            raise ValueError("negative input")
        return batch

    with DynamicBatcher(picky, max_batch_size=4, max_wait_ms=0) as server:
        with pytest.raises(ValueError, match="negative"):
            server.predict(np.array([-1.0]), timeout=5)
        assert server.predict(np.array([1.0]), timeout=5)[0] == 1.0  # the worker survived


def test_measure_batching_reports_each_configuration():
    model = nn.Linear(8, 4).eval()

    def predict(batch):
        with torch.inference_mode():
            return model(batch)

    table = measure_batching(predict, torch.randn(8), rates=(3000,), max_batch_sizes=(8,),
                             max_wait_ms=(1.0, 3.0), n_requests=80)
    assert table["max_batch_size"].tolist() == [1, 8, 8]  # the unbatched reference is added
    assert table.loc[0, "mean_batch_size"] == 1 and table.loc[0, "max_wait_ms"] == 0
    assert (table["mean_batch_size"] <= table["max_batch_size"]).all()
    assert (table["throughput_rps"] > 0).all()
    assert (table["latency_ms_p95"] >= table["latency_ms_median"]).all()
