"""A live dashboard for :func:`hybridlab.minimize`: a driver callback.

In Jupyter it shows an ipywidgets box (progress bar, best value, evaluations/s, best
parameters, convergence plot, a Stop button); elsewhere a ``tqdm`` text bar.  Drawing is
throttled so that it costs a few percent of a run at most, and the final state is always
drawn.  ipywidgets, matplotlib and tqdm are imported only when a dashboard is built, so
``import hybridlab.widgets`` is cheap.  The views (text bar, widget box) and the numbers
they show live in :mod:`._views`.
"""

from __future__ import annotations

import math
import time
from typing import Any

from ._views import (
    MODES,
    State,
    TextView,
    WidgetView,
    check_number,
    params_table,
    resolve_mode,
    status_line,
)

__all__ = ["MODES", "Dashboard", "params_table", "status_line"]

#: share of the run's elapsed time that live (non-final) drawing may use
DRAW_SHARE = 0.03
#: cost assumed for the first plot, before one has been timed (seconds)
FIRST_PLOT_GUESS = 0.02


class Dashboard:
    """Live progress of :func:`hybridlab.minimize`: pass it in ``callbacks``.

    In Jupyter it displays, on its first call, an ipywidgets box: a progress bar
    (evaluations / budget), the best value, evaluations per second and elapsed time, the
    best parameters, a convergence plot (best so far against evaluations, each phase's
    evaluations as dots in a stable colour) and a Stop button that ends the run cleanly
    after the current batch (``Result.stopped == "callback"``).  Elsewhere it shows a
    ``tqdm`` text bar with the best value.

    A kernel handles widget events (the Stop click) between cells, so run the search with
    ``r = await hybridlab.minimize_async(..., callbacks=[Dashboard()])``: the run goes on in
    a worker thread and the kernel stays responsive.  With a plain ``minimize`` the
    display updates live but a click acts only when the cell has finished.

    Drawing is throttled: at most once every ``every`` seconds, and live drawing never
    takes more than about 3% of the run's elapsed time.  The final state is always drawn:
    when the budget is reached, when Stop is clicked, or on :meth:`close` (the driver
    calls ``close(result)`` at the end of a run; ``with Dashboard() as dash:`` does too).
    In a kernel the final plot is also left as a static image after the box, so executed
    notebooks keep it.

    Parameters
    ----------
    mode : {"auto", "widget", "text"}
        ``"auto"`` picks widgets when an IPython kernel runs and ipywidgets imports, text
        otherwise.  ``"widget"`` also works without a kernel (nothing is displayed, but
        widgets and figure are updated: useful for tests and overhead measurements).
    every : float
        Minimum seconds between two redraws (0 leaves only the adaptive limit).
    max_points : int
        At most this many evaluation dots in the plot (evenly thinned beyond that); the
        best-so-far curve is always exact.

    Attributes
    ----------
    mode : str
        ``"widget"`` or ``"text"``, after resolving ``"auto"``.
    n_draws : int
        Redraws made (plot redraws in widget mode, bar refreshes in text mode).
    draw_seconds : float
        Total time spent in the dashboard (drawing, widget updates, display).
    last_draw_seconds : float
        Cost of the most recent redraw.
    stop_button : ipywidgets.Button or None
        The Stop button (``None`` in text mode); ``stop_button.click()`` stops the run.
    box : ipywidgets.VBox or None
        The whole dashboard widget.
    figure : matplotlib.figure.Figure or None
        The convergence plot (widget mode); not tracked by pyplot, so nothing leaks.
    text_bar : tqdm.tqdm or None
        The text bar in text mode, once the run has started.

    Example
    -------
    >>> import numpy as np
    >>> from hybridlab import Problem, Space, minimize
    >>> p = Problem(lambda x: float(np.sum(x ** 2)), Space.box(2, -5, 5))
    >>> with Dashboard(mode="text") as dash:
    ...     r = minimize(p, "ga>>local", budget=200, seed=0, callbacks=[dash])
    >>> dash.mode, r.n_evals, dash.n_draws >= 1
    ('text', 200, True)
    """

    def __init__(self, mode: str = "auto", every: float = 0.5, max_points: int = 5000) -> None:
        self.every = check_number("every", every, 0.0)
        self.max_points = int(check_number("max_points", max_points, 1))
        self.mode = resolve_mode(mode)
        self._reset()

    # -- public ------------------------------------------------------------------------
    def __call__(self, progress: Any) -> bool:
        """Update the display after a batch; True once Stop was clicked."""
        t0 = time.perf_counter()
        if self._closed or progress.n_evals < self._last_n:  # reused for a new run
            self._reset()
        spent = getattr(progress, "spent", math.nan)
        state = State(progress.n_evals, progress.budget, progress.best_y, progress.best_x,
                       progress.elapsed, progress.history,
                       float(spent) if math.isfinite(spent) else None)
        if self._state is None:
            self._view.show(state)
        self._state, self._last_n = state, progress.n_evals
        if state.done >= state.budget or self._stop:
            self._draw_final()
        elif self._view.plots and self._due(state.elapsed, self._last_plot,
                                            self._plot_cost or FIRST_PLOT_GUESS):
            self._draw(plot=True)
        elif self._due(state.elapsed, self._last_update, self._update_cost):
            self._draw(plot=False)
        self.draw_seconds += time.perf_counter() - t0
        return self._stop

    def request_stop(self) -> None:
        """Make the next call return True, so the run ends cleanly (the Stop button)."""
        self._stop = True

    def close(self, result: Any = None) -> None:
        """Draw the final state (from ``result`` when given) and close the bar; idempotent.

        Parameters
        ----------
        result : Result, optional
            The run's :class:`~hybridlab.Result`; its numbers and history are drawn.
        """
        if self._closed:
            return
        t0 = time.perf_counter()
        if result is not None:
            spent = getattr(result, "cost", None)
            done = result.n_evals if spent is None else spent
            budget = self._state.budget if self._state is not None else done
            state = State(result.n_evals, budget, result.y if result.feasible else math.inf,
                           result.x, result.seconds, lambda: result.history, spent)
            if self._state is None:
                self._view.show(state)
            if not self._final or state.n_evals != self._last_n:
                self._final = False
                self._state, self._last_n = state, state.n_evals
        if self._state is not None:
            self._draw_final()
        self._view.close(self._state)
        self._closed = True
        self.draw_seconds += time.perf_counter() - t0

    def __enter__(self) -> Dashboard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------
    def _reset(self) -> None:
        if self.mode == "widget":
            self._view: Any = WidgetView(self.request_stop, self.max_points)
            self.stop_button, self.box = self._view.stop_button, self._view.box
        else:
            self._view = TextView()
            self.stop_button = self.box = None
        self.n_draws, self.draw_seconds, self.last_draw_seconds = 0, 0.0, 0.0
        self._state: State | None = None
        self._last_n, self._stop, self._final, self._closed = -1, False, False, False
        self._last_plot = self._last_update = -math.inf
        self._plot_cost = self._update_cost = 0.0

    @property
    def figure(self) -> Any:
        return getattr(self._view, "figure", None)

    @property
    def text_bar(self) -> Any:
        return getattr(self._view, "bar", None) if self.mode == "text" else None

    def _due(self, elapsed: float, last: float, cost: float) -> bool:
        """At most every ``every`` s, and drawing stays within DRAW_SHARE of the run."""
        if elapsed - last < self.every:
            return False
        return self.draw_seconds + cost <= DRAW_SHARE * elapsed

    def _draw(self, plot: bool) -> None:
        t0 = time.perf_counter()
        assert self._state is not None
        self._view.update(self._state)
        if plot:
            self._view.plot(self._state)
        cost = time.perf_counter() - t0
        if plot or not self._view.plots:
            self.n_draws += 1
            self.last_draw_seconds = cost
        if plot:
            self._plot_cost, self._last_plot = cost, self._state.elapsed
        else:
            self._update_cost = cost
        self._last_update = self._state.elapsed

    def _draw_final(self) -> None:
        if self._final:
            return
        self._draw(plot=self._view.plots)
        if self._view.plots:
            self._view.finish()
        self._final = True
