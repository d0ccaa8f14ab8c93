"""Case study 1: hyperparameter search of a small CNN against honest default settings.

``hybridlab reproduce case-study-1 [--quick]`` runs :func:`run`, which, per task and seed,

1. trains the *default settings* (:data:`DEFAULTS`: ``SmallCNN()``, Adam, lr 1e-3, batch
   32, :data:`EPOCHS` epochs), 3x longer, and to convergence (early stopping);
2. searches :data:`SPACE` with each searcher at the same trial budget (objective: 1 -
   validation accuracy of a model trained on the training split, deterministic per seed);
3. retrains the best configuration with the default's fresh initialisation seed and
   scores both on the held-out test split;
4. writes ``report.md``, CSVs and plots into ``out_dir`` (atomically).

Tasks (:data:`TASKS`): ``"noisy-small"`` (the headline: 250 training images -- about 25 per
class, stratified -- of scikit-learn's digits, Gaussian pixel noise sd 0.25, 300 validation
images, the rest for test) and ``"digits"`` (the standard split of :func:`~hybridlab.ml.train.
digits_data`, where defaults nearly saturate). Nothing is selected on the test set.

Example
-------
>>> sum(p.numel() for p in make_cnn(DEFAULTS).parameters())  # the same as SmallCNN()
6058
>>> res = run(Path("reports/case-study-1"))  # doctest: +SKIP
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

import hybridlab as hl
from hybridlab.ml.train import EarlyStopping, accuracy, fit
from hybridlab.provenance import environment
from hybridlab.reporting import render_sections, write_report

from . import CaseStudyResult
from ._common import ENV_PACKAGES, ci95
from ._hpo_setup import (
    BAYESIAN,
    CONTROLS,
    DEFAULTS,
    EARLY_STOPPED,
    EPOCHS,
    HEADLINE_TASK,
    HYBRIDS,
    LONGER,
    PATIENCE,
    SEARCHERS,
    SPACE,
    TASKS,
)
from ._hpo_text import report_sections

__all__ = ["BAYESIAN", "DEFAULTS", "EPOCHS", "HYBRIDS", "SEARCHERS", "SPACE", "TASKS",
           "ci95", "load_task", "make_cnn", "run", "train_and_score"]



def make_cnn(cfg: dict[str, Any], n_classes: int = 10) -> nn.Module:
    """The CNN of a configuration: ``n_conv`` blocks ``Conv(kernel, same padding) -> ReLU
    -> MaxPool(2)`` with ``channels * 2**i`` channels, then ``Flatten -> Dropout ->
    Linear(hidden) -> ReLU -> Dropout -> Linear`` (``hidden=0``: one Linear). With
    :data:`DEFAULTS` this is exactly ``SmallCNN()`` (same layers, same parameter order).

    >>> make_cnn(DEFAULTS | {"n_conv": 3, "kernel": 5})(torch.zeros(2, 1, 8, 8)).shape
    torch.Size([2, 10])
    """
    layers: list[nn.Module] = []
    c_in, k = 1, int(cfg["kernel"])
    for i in range(int(cfg["n_conv"])):
        c = int(cfg["channels"]) * 2**i
        layers += [nn.Conv2d(c_in, c, k, padding=k // 2), nn.ReLU(), nn.MaxPool2d(2)]
        c_in = c
    flat = c_in * (8 // 2 ** int(cfg["n_conv"])) ** 2
    p, hidden = float(cfg["dropout"]), int(cfg["hidden"])
    layers += [nn.Flatten(), nn.Dropout(p)]
    layers += ([nn.Linear(flat, hidden), nn.ReLU(), nn.Dropout(p), nn.Linear(hidden, n_classes)]
               if hidden else [nn.Linear(flat, n_classes)])
    return nn.Sequential(*layers)


Split = tuple[torch.Tensor, torch.Tensor]


def load_task(task: str, seed: int) -> tuple[Split, Split, Split]:
    """``(train, val, test)`` as ``(X, y)`` tensor pairs of a task in :data:`TASKS`.

    >>> tr, va, te = load_task("noisy-small", seed=0)
    >>> len(tr[1]), len(va[1]), len(te[1]), float(tr[0].min()), float(tr[0].max())
    (250, 300, 1247, 0.0, 1.0)
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose from {sorted(TASKS)}")
    spec = TASKS[task]
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).reshape(-1, 1, 8, 8)
    if spec["noise"]:
        rng = np.random.default_rng(seed)
        X = np.clip(X + rng.normal(0.0, spec["noise"], X.shape), 0.0, 1.0)
    X = X.astype("float32")
    if spec["train_per_class"] is None:  # digits_data's proportions: 25 % test, 20 % val
        X_rest, X_te, y_rest, y_te = train_test_split(X, y, test_size=0.25, stratify=y,
                                                      random_state=seed)
        X_tr, X_va, y_tr, y_va = train_test_split(X_rest, y_rest, test_size=0.2,
                                                  stratify=y_rest, random_state=seed)
    else:
        X_tr, X_rest, y_tr, y_rest = train_test_split(
            X, y, train_size=10 * spec["train_per_class"], stratify=y, random_state=seed)
        X_va, X_te, y_va, y_te = train_test_split(
            X_rest, y_rest, train_size=10 * spec["val_per_class"], stratify=y_rest,
            random_state=seed)

    def t(a: np.ndarray, b: np.ndarray) -> Split:
        return torch.from_numpy(a.copy()), torch.from_numpy(b.astype("int64"))

    return t(X_tr, y_tr), t(X_va, y_va), t(X_te, y_te)


def train_and_score(cfg: dict[str, Any], data: tuple[Split, Split, Split], seed: int,
                    epochs: int = EPOCHS, test: bool = False,
                    patience: int | None = None) -> dict[str, float]:
    """Train ``make_cnn(cfg)`` (init seeded by ``seed``) on the training split; return its
    validation (and with ``test=True`` test) accuracy and the epochs it trained.
    Deterministic per seed.

    With ``patience``, training stops once validation loss has not improved for that many
    epochs (at most ``epochs``) and the best epoch's weights are restored.

    >>> d = load_task("noisy-small", seed=0)
    >>> r = train_and_score(DEFAULTS, d, seed=0, epochs=1)
    >>> 0.0 <= r["val_accuracy"] <= 1.0
    True
    """
    torch.manual_seed(seed)
    model = make_cnn(cfg)
    early = None if patience is None else EarlyStopping(patience=patience, monitor="val_loss")
    history = fit(model, data[0], data[1] if early else None, optimizer="adam",
                  lr=float(cfg["lr"]), epochs=epochs, batch_size=int(cfg["batch_size"]),
                  weight_decay=float(cfg["weight_decay"]), seed=seed, device="cpu",
                  early_stopping=early)
    out = {"val_accuracy": accuracy(model, data[1]),
           "epochs": float(history.best_epoch if early and history.best_epoch else epochs)}
    if test:
        out["test_accuracy"] = accuracy(model, data[2])
    return out


def _search(task: str, seed: int, data: tuple[Split, Split, Split], searcher: str,
            budget: int, epochs: int, tick: Callable[[str], None]) -> dict[str, Any]:
    """One search: best config, per-trial validation accuracies and wall time."""
    cache: dict[tuple, float] = {}

    def objective(p: dict[str, Any]) -> float:
        key = tuple(sorted(p.items()))
        if key not in cache:
            cache[key] = train_and_score(p, data, seed, epochs)["val_accuracy"]
        tick(f"{task} s{seed} {searcher}")
        return 1.0 - cache[key]

    t0 = time.perf_counter()
    res = hl.minimize(hl.Problem(objective, SPACE, name=f"cnn-{task}"), searcher, budget,
                      seed=seed)
    seconds = time.perf_counter() - t0
    val = (1.0 - res.history["y"].to_numpy(dtype=float))[:budget]
    return {"x": dict(res.x), "val": val, "seconds": seconds, "trainings": len(cache)}


def _defaults(task: str, seed: int, data: tuple[Split, Split, Split], fresh: int,
              epochs: int, tick: Callable[[str], None]) -> list[dict[str, Any]]:
    """The default settings trained as a user runs them, 3x longer, and to convergence
    (early stopping, up to 10x): one per-seed row each."""
    out = []
    for setting, n, patience in (("default", epochs, None), (LONGER, 3 * epochs, None),
                                 (EARLY_STOPPED, 10 * epochs, PATIENCE)):
        r = train_and_score(DEFAULTS, data, fresh, n, test=True, patience=patience)
        tick(f"{task} s{seed} {setting}")
        out.append({"task": task, "seed": seed, "setting": setting,
                    "val_accuracy_search": r["val_accuracy"], **r, "search_seconds": 0.0,
                    "trainings": 1, **DEFAULTS})
    return out


def _trials_to_reach(curve: np.ndarray, ref: float) -> int:
    """First 1-based trial whose best-so-far reaches ``ref``; len+1 if never."""
    hit = np.flatnonzero(np.maximum.accumulate(curve) >= ref - 1e-12)
    return int(hit[0]) + 1 if len(hit) else len(curve) + 1


def _summaries(per_seed: pd.DataFrame, curves: pd.DataFrame, budget: int
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Headline (per task x setting) and trials-to-reach (per task x searcher x seed)."""
    reach = []
    for (task, seed), g in curves.groupby(["task", "seed"]):
        finals = g.groupby("searcher").val_accuracy.max()
        ref = float(max(finals.get(b, -np.inf) for b in BAYESIAN))
        for s, gs in g.groupby("searcher", sort=False):
            reach.append({"task": task, "seed": seed, "searcher": s, "bayesian_best_val": ref,
                          "trials_to_reach": _trials_to_reach(
                              gs.sort_values("trial").val_accuracy.to_numpy(), ref)})
    reach_df = pd.DataFrame(reach)
    rows = []
    for (task, setting), g in per_seed.groupby(["task", "setting"], sort=False):
        m, h = ci95(g.test_accuracy)
        gm, gh = ci95(g.gain_pts)
        fm, fh = ci95(g.gain_vs_fair_pts)
        r = reach_df[(reach_df.task == task) & (reach_df.searcher == setting)]
        rows.append({
            "task": task, "setting": setting, "seeds": len(g),
            "test_acc_mean": m, "test_acc_ci95": h, "gain_pts_mean": gm, "gain_pts_ci95": gh,
            "gain_vs_fair_pts_mean": fm, "gain_vs_fair_pts_ci95": fh,
            "epochs_median": float(g.epochs.median()),
            "val_acc_best_median": float(g.val_accuracy_search.median()),
            "trials_to_bayes_median": float(r.trials_to_reach.median()) if len(r) else math.nan,
            "reached_in_seeds": int((r.trials_to_reach <= budget).sum()) if len(r) else math.nan,
            "search_seconds_mean": float(g.search_seconds.mean()),
        })
    return pd.DataFrame(rows), reach_df


def _targets(head: pd.DataFrame, budget: int) -> dict[str, tuple[bool, str]]:
    full = head[head.task == head.task.iloc[0]].set_index("setting")
    h = full.drop(index=list(CONTROLS), errors="ignore")
    bayes = [b for b in BAYESIAN if b in h.index]
    hyb = [s for s in HYBRIDS if s in h.index]
    task = head.task.iloc[0]
    if not bayes:
        return {}
    out = {}
    for col, ref in (("gain_vs_fair_pts", EARLY_STOPPED), ("gain_pts", "default")):
        if ref not in full.index:
            continue
        gains = ", ".join(f"{s}: {h.loc[s, col + '_mean']:+.1f} (95% CI +/- "
                          f"{h.loc[s, col + '_ci95']:.1f})" for s in h.index if s != "default")
        what = ("the default trained to convergence (early stopping)"
                if ref == EARLY_STOPPED else "the default as a user runs it")
        out[f"tuned beats {ref} by >= 5 points"] = (
            bool(min(h.loc[b, col + "_mean"] for b in bayes) >= 5.0),
            f"task {task}, against {what}: its test accuracy "
            f"{full.loc[ref, 'test_acc_mean']:.4f} ({full.loc[ref, 'epochs_median']:g} epochs, "
            f"median); gain in points (mean over {int(full.loc[ref, 'seeds'])} seed(s)) -- "
            f"{gains}; target: every Bayesian searcher ({', '.join(bayes)}) >= +5")
    if hyb:
        best_bayes = min(h.loc[b, "trials_to_bayes_median"] for b in bayes)
        primary = hyb[0]
        trials = ", ".join(f"{s}: {h.loc[s, 'trials_to_bayes_median']:g}"
                           for s in [*bayes, *hyb, "random"] if s in h.index)
        out["hybrid reaches Bayesian result in no more trials"] = (
            bool(h.loc[primary, "trials_to_bayes_median"] <= best_bayes),
            f"task {task}: median trials to reach the best Bayesian validation accuracy of "
            f"the seed ({budget + 1} = not reached within {budget}) -- {trials}; target: "
            f"{primary} <= {best_bayes:g} (the faster Bayesian searcher)")
    return out


def _plot(curves: pd.DataFrame, per_seed: pd.DataFrame, task: str) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    g = curves[curves.task == task]
    for s, gs in g.groupby("searcher", sort=False):
        med = gs.pivot(index="trial", columns="seed", values="best_val_accuracy").median(axis=1)
        ax.plot(med.index, med.to_numpy(), label=s, marker="o", ms=2)
    d = per_seed[(per_seed.task == task) & (per_seed.setting == "default")]
    ax.axhline(float(d.val_accuracy_search.median()), color="k", ls="--", label="default")
    ax.set(xlabel="trial", ylabel="best validation accuracy so far (median over seeds)",
           title=f"case study 1, task {task}")
    ax.legend(fontsize=8)
    plt.close(fig)
    return fig


def _command(out_dir: Path, quick: bool, seeds: int | None, n_seeds: int, budget: int,
             searchers: tuple[str, ...], tasks: tuple[str, ...]) -> str:
    """The command that reproduces a run: the CLI's when the arguments are its defaults."""
    default_args = budget == (4 if quick else 30) and searchers == SEARCHERS and \
        tasks == ((HEADLINE_TASK,) if quick else tuple(TASKS))
    return ("hybridlab reproduce case-study-1" + (" --quick" if quick else "")
            + ("" if seeds is None else f" --seeds {n_seeds}")
            if default_args else
            f"python -c 'from pathlib import Path; from hybridlab.casestudies.hpo_cnn "
            f"import run; run(Path(\"{out_dir}\"), quick={quick}, seeds={n_seeds}, "
            f"budget={budget}, searchers={list(searchers)}, tasks={list(tasks)})'")


def run(out_dir: Path, *, quick: bool = False, progress: bool = True,
        seeds: int | None = None, budget: int | None = None,
        searchers: Sequence[str] | None = None,
        tasks: Sequence[str] | None = None) -> CaseStudyResult:
    """Run case study 1 into ``out_dir`` (report.md, CSVs, plots) and return its result.

    Parameters
    ----------
    out_dir : pathlib.Path
        Folder of the report; created if needed.
    quick : bool, default False
        A smoke run (budget 4, one seed, half the epochs, headline task only).
    progress : bool, default True
        Show a tqdm progress bar over all trainings.
    seeds : int, optional
        Seeds 0..seeds-1 (default 5, or 1 with ``quick``).
    budget : int, optional
        Trials per search (default 30, or 4 with ``quick``); >= 2.
    searchers : sequence of str, optional
        Default :data:`SEARCHERS`; must include one of :data:`BAYESIAN`.
    tasks : sequence of str, optional
        Tasks of :data:`TASKS` (default both; ``quick``: the headline task only).

    Returns
    -------
    CaseStudyResult
        ``headline``: default vs each searcher (test accuracy, 95 % CI, gain, trials to
        reach the Bayesian result, search time) on the first task; ``targets``: name ->
        (met, text).
    """
    from tqdm.auto import tqdm

    n_seeds = int(seeds if seeds is not None else (1 if quick else 5))
    budget = int(budget if budget is not None else (4 if quick else 30))
    searchers = tuple(searchers if searchers is not None else SEARCHERS)
    tasks = tuple(tasks if tasks is not None else ((HEADLINE_TASK,) if quick else TASKS))
    if n_seeds < 1 or budget < 2:
        raise ValueError(f"seeds must be >= 1 and budget >= 2, got seeds={n_seeds}, "
                         f"budget={budget}")
    if not tasks or any(t not in TASKS for t in tasks):
        raise ValueError(f"tasks must be a non-empty subset of {sorted(TASKS)}, got {tasks}")
    if not any(s in BAYESIAN for s in searchers) or len(set(searchers)) != len(searchers):
        raise ValueError(f"searchers must be distinct and include one of {BAYESIAN}, got "
                         f"{searchers}")
    epochs = EPOCHS // 2 if quick else EPOCHS
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    bar = tqdm(total=len(tasks) * n_seeds * (3 + len(searchers) * (budget + 1)),
               desc="case-study-1", disable=not progress, leave=False)

    def tick(text: str) -> None:
        bar.set_postfix_str(text[:40])
        bar.update(1)

    t_start = time.perf_counter()
    rows, curves, control = [], [], []
    try:
        for task in tasks:
            for seed in range(n_seeds):
                data = load_task(task, seed)
                fresh = 1000 + seed  # the same re-initialisation for default and tuned
                default, *controls = _defaults(task, seed, data, fresh, epochs, tick)
                rows.append(default)
                control += controls
                for s in searchers:
                    found = _search(task, seed, data, s, budget, epochs, tick)
                    tuned = train_and_score(found["x"], data, fresh, epochs, test=True)
                    tick(f"{task} s{seed} {s} retrain")
                    rows.append({"task": task, "seed": seed, "setting": s,
                                 "val_accuracy_search": float(found["val"].max()), **tuned,
                                 "search_seconds": found["seconds"],
                                 "trainings": found["trainings"], **found["x"]})
                    curves += [{"task": task, "seed": seed, "searcher": s, "trial": i + 1,
                                "val_accuracy": v, "best_val_accuracy": b}
                               for i, (v, b) in enumerate(zip(
                                   found["val"], np.maximum.accumulate(found["val"]),
                                   strict=True))]
    finally:
        bar.close()
        torch.set_num_threads(threads)
    elapsed = time.perf_counter() - t_start
    per_seed = pd.DataFrame(rows + control)
    keys = list(zip(per_seed.task, per_seed.seed, strict=True))
    for col, ref in (("gain_pts", "default"), ("gain_vs_fair_pts", EARLY_STOPPED)):
        acc = per_seed[per_seed.setting == ref].set_index(["task", "seed"]).test_accuracy
        per_seed[col] = 100 * (per_seed.test_accuracy - acc.loc[keys].to_numpy())
    curves_df = pd.DataFrame(curves)
    summary, reach = _summaries(per_seed, curves_df, budget)
    head = summary[summary.task == tasks[0]].reset_index(drop=True)
    targets = _targets(head, budget)
    tables = {"headline": head, "summary": summary, "per_seed": per_seed,
              "curves": curves_df, "trials_to_reach": reach}
    command = _command(out_dir, quick, seeds, n_seeds, budget, searchers, tasks)
    sections = report_sections(tables, targets, plots={t: _plot(curves_df, per_seed, t)
                                                       for t in tasks},
                               quick=quick, seeds=n_seeds, budget=budget, epochs=epochs,
                               elapsed=elapsed)
    text, csvs, figures = render_sections(
        "Case study 1: hyperparameter search of a small CNN vs default settings", sections,
        command=command, env=environment(ENV_PACKAGES))
    report = write_report(out_dir, text, tables=csvs, figures=figures)
    return CaseStudyResult(name="case-study-1", headline=head, report=report, tables=tables,
                           targets=targets)
