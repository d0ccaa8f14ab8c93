"""``hybridlab runs list|show|export|delete``: look into a run store from the shell.

    hybridlab runs list runs.db
    hybridlab runs show runs.db my-run [--last 10]
    hybridlab runs export runs.db my-run -o my-run.csv     (.csv, .json or .parquet)
    hybridlab runs delete runs.db my-run
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pandas as pd

from .io import atomic_write

__all__ = ["add_parser", "handle"]

_EXPORTS = {".csv": "to_csv", ".json": "to_json", ".parquet": "to_parquet"}


def add_parser(sub: Any) -> None:
    """Add the ``runs`` command and its sub-commands to ``sub`` (argparse subparsers)."""
    runs = sub.add_parser("runs", help="list, show, export or delete stored runs",
                          description="Look into a SQLite run store written by "
                          "minimize(..., store=) or compare(..., store=).")
    verbs = runs.add_subparsers(dest="verb", required=True, parser_class=type(runs))
    ls = verbs.add_parser("list", help="one line per run")
    ls.add_argument("store", help="the .db file")
    show = verbs.add_parser("show", help="a run's metadata, best point and last evaluations")
    show.add_argument("store")
    show.add_argument("run")
    show.add_argument("--last", type=int, default=5, help="evaluations to print (default 5)")
    exp = verbs.add_parser("export", help="a run's evaluations to CSV, JSON or parquet")
    exp.add_argument("store")
    exp.add_argument("run")
    exp.add_argument("-o", "--out", required=True,
                     help="output file; its suffix (.csv, .json, .parquet) picks the format")
    rm = verbs.add_parser("delete", help="remove a run and its evaluations")
    rm.add_argument("store")
    rm.add_argument("run")


def _open(path: str, read_only: bool) -> Any:
    from .tracking import RunStore

    if not Path(path).is_file():
        raise ValueError(f"no store file {path!r}: give the .db file written by "
                         f"minimize(..., store=)")
    return RunStore(path, read_only=read_only)


def handle(args: argparse.Namespace) -> int:
    """Run ``hybridlab runs <verb>``; return the exit status.  Only ``delete`` opens the
    store for writing."""
    with _open(args.store, read_only=args.verb != "delete") as store:
        try:
            return _VERBS[args.verb](store, args)
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None


def _list(store: Any, args: argparse.Namespace) -> int:
    runs = store.runs()
    if runs.empty:
        print(f"{args.store}: no runs")
        return 0
    cols = ["name", "status", "optimizer", "problem", "seed", "n_evals", "budget", "best_y",
            "seconds", "updated"]
    with pd.option_context("display.width", 200, "display.max_colwidth", 40):
        print(runs[cols].to_string(index=False))
    return 0


def _show(store: Any, args: argparse.Namespace) -> int:
    info = store.info(args.run)
    evals = store.evaluations(args.run)
    for key in ("name", "status", "problem", "optimizer", "dim", "seed", "budget", "n_evals",
                "best_y", "seconds", "created", "updated"):
        print(f"{key:10s} {info[key]}")
    print(f"{'versions':10s} {json.dumps(info['info'].get('versions', {}))}")
    ok = evals[evals["status"] == "ok"]
    if len(ok):
        best = ok.loc[ok["y"].idxmin()]
        names = evals.columns[evals.columns.get_loc("timestamp") + 1:]
        params = {c: _py(best[c]) for c in names if c != "violation"}
        print(f"{'best':10s} eval {int(best['eval'])}: {params}")
    if args.last > 0 and len(evals):
        print(evals.drop(columns=["timestamp"]).tail(args.last).to_string(index=False))
    return 0


def _py(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _export(store: Any, args: argparse.Namespace) -> int:
    out = Path(args.out)
    method = _EXPORTS.get(out.suffix.lower())
    if method is None:
        raise ValueError(f"--out must end in one of {sorted(_EXPORTS)}, got {out.name!r}")
    evals = store.evaluations(args.run)
    kwargs: dict[str, Any] = {"orient": "records", "indent": 1} if method == "to_json" \
        else {"index": False}
    atomic_write(out, lambda p: getattr(evals, method)(p, **kwargs))
    print(f"{len(evals)} evaluations of {args.run!r} -> {out}")
    return 0


def _delete(store: Any, args: argparse.Namespace) -> int:
    store.info(args.run)  # KeyError if unknown
    store.delete(args.run)
    print(f"deleted {args.run!r} from {args.store}")
    return 0


_VERBS = {"list": _list, "show": _show, "export": _export, "delete": _delete}
