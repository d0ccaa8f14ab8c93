"""The two views of :class:`hybridlab.widgets.Dashboard` and what one redraw shows: a
``tqdm`` text bar, or an ipywidgets box (progress, best value, evaluations/s, best
parameters, the live convergence plot, a Stop button)."""

from __future__ import annotations

import html
import io
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..live_plot import ConvergencePlot

__all__ = ["MAX_PARAM_ROWS", "MODES", "State", "TextView", "WidgetView", "check_number",
           "params_table", "resolve_mode", "status_line"]

MODES = ("auto", "widget", "text")
#: rows of the best-parameters table
MAX_PARAM_ROWS = 20


@dataclass(frozen=True)
class State:
    """What one redraw shows: the numbers of a ``Progress`` or of a ``Result``."""

    n_evals: int
    budget: int
    best_y: float
    best_x: Any
    elapsed: float
    history: Callable[[], Any]
    #: budget spent, in fidelity units on a multi-fidelity problem (else ``n_evals``)
    spent: float | None = None

    @property
    def done(self) -> float:
        return self.n_evals if self.spent is None else self.spent

    @property
    def progress_text(self) -> str:
        if self.spent is None or self.spent == self.n_evals:
            return f"{self.n_evals} / {self.budget} evaluations"
        return f"{self.n_evals} evaluations, cost {self.spent:g} / {self.budget}"


def _in_kernel() -> bool:
    """Whether an IPython kernel (Jupyter, not a terminal IPython) is running."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _has_ipywidgets() -> bool:
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}; use 'auto' to pick "
                         "widgets in Jupyter and a text bar elsewhere")
    if mode == "auto":
        return "widget" if _in_kernel() and _has_ipywidgets() else "text"
    if mode == "widget" and not _has_ipywidgets():
        raise ValueError("mode='widget' needs ipywidgets: pip install ipywidgets, "
                         "or use mode='text'")
    return mode


def check_number(name: str, value: Any, low: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value) or value < low:
        raise ValueError(f"{name} must be a finite number >= {low}, got {value!r}")
    return float(value)


def _fmt_y(y: float) -> str:
    return f"{y:.6g}" if math.isfinite(y) else "none feasible yet"


def _fmt_seconds(s: float) -> str:
    minutes, sec = divmod(max(s, 0.0), 60.0)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{sec:04.1f}" if hours else f"{minutes}:{sec:04.1f}"


def status_line(state: State) -> str:
    """HTML: best value, evaluations per second and elapsed time."""
    rate = state.n_evals / state.elapsed if state.elapsed > 0 else 0.0
    return (f"best <b>{html.escape(_fmt_y(state.best_y))}</b> &middot; "
            f"{rate:,.0f} evals/s &middot; {_fmt_seconds(state.elapsed)} elapsed")


def params_table(x: Any) -> str:
    """A small HTML table of the best parameters (an array or a dict)."""
    if x is None:
        return ""
    if isinstance(x, dict):
        items = list(x.items())
    else:
        items = [(f"x{i}", v) for i, v in enumerate(np.atleast_1d(np.asarray(x)).tolist())]
    rows = [f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(_fmt_value(v))}</td></tr>"
            for k, v in items[:MAX_PARAM_ROWS]]
    if len(items) > MAX_PARAM_ROWS:
        rows.append(f"<tr><td colspan='2'>... {len(items) - MAX_PARAM_ROWS} more</td></tr>")
    return "<table><tr><th>parameter</th><th>best</th></tr>" + "".join(rows) + "</table>"


def _fmt_value(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float | np.floating) else str(v)


class TextView:
    """A plain ``tqdm.tqdm`` bar with the best value in its postfix."""

    plots = False

    def __init__(self) -> None:
        self.bar: Any = None

    def show(self, state: State) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=state.budget, unit="eval", desc="minimize", leave=True)

    def update(self, state: State) -> None:
        self.bar.set_postfix_str(f"best={_fmt_y(state.best_y)}", refresh=False)
        self.bar.update(int(state.done) - self.bar.n)

    def close(self, state: State | None) -> None:
        if self.bar is not None:
            if state is not None:
                self.update(state)
            self.bar.close()


class WidgetView:
    """The ipywidgets box; the plot is a PNG shown in an ``Output`` when a kernel runs."""

    plots = True

    def __init__(self, on_stop: Callable[[], None], max_points: int) -> None:
        import ipywidgets as w

        self.kernel = _in_kernel()
        self.bar = w.IntProgress(value=0, min=0, max=1, description="evals")
        self.count = w.Label("0 / ?")
        self.status = w.HTML("")
        self.params = w.HTML("")
        self.output = w.Output()
        self.stop_button = w.Button(description="Stop", button_style="danger",
                                    tooltip="stop the run after the current batch")
        self.stop_button.on_click(lambda _button: on_stop())
        self.box = w.VBox([w.HBox([self.bar, self.count, self.stop_button]), self.status,
                           self.params, self.output])
        self.chart = ConvergencePlot(max_points)  # built now, not during the run
        self.figure = self.chart.figure
        self.png: bytes | None = None

    def show(self, state: State) -> None:
        self.bar.max = state.budget
        if self.kernel:
            from IPython.display import display

            display(self.box)

    def update(self, state: State) -> None:
        self.bar.value = int(state.done)
        self.count.value = f"{state.done:g} / {state.budget}"
        self.status.value = status_line(state)
        self.params.value = params_table(state.best_x)

    def plot(self, state: State) -> None:
        """Redraw the figure; render and show it only where a kernel can display it."""
        self.chart.draw(state.history(), state.progress_text)
        if self.kernel:
            from IPython.display import Image, display

            buf = io.BytesIO()
            self.figure.savefig(buf, format="png")
            self.png = buf.getvalue()
            with self.output:
                self.output.clear_output(wait=True)
                display(Image(data=self.png, format="png"))

    def finish(self) -> None:
        """Leave the final plot as a static image after the box.

        A headless run (nbconvert, nbclient) stores an ``Output`` widget's content only in
        the notebook's widget state, which GitHub and most viewers do not render; a plain
        ``display`` after the box becomes an ordinary ``image/png`` cell output.
        """
        self.stop_button.disabled = True
        if self.kernel and self.png is not None:
            from IPython.display import Image, display

            self.output.clear_output()
            display(Image(data=self.png, format="png"))

    def close(self, state: State | None) -> None:
        self.stop_button.disabled = True
