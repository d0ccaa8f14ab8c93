import math
import subprocess
import sys
import time

import numpy as np
import pytest

from hybridlab import Problem, Space, minimize
from hybridlab.widgets import Dashboard, params_table, status_line


def sphere(x):
    return float(np.sum(x**2))


SPHERE = Problem(sphere, Space.box(3, -5, 5), name="sphere")


def test_import_is_cheap():
    code = ("import sys, hybridlab.widgets; "
            "print(any(m in sys.modules for m in ('ipywidgets', 'matplotlib')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_text_mode_gives_the_same_result():
    plain = minimize(SPHERE, "ga>>local", budget=300, seed=3)
    with Dashboard(mode="text", every=0) as dash:
        r = minimize(SPHERE, "ga>>local", budget=300, seed=3, callbacks=[dash])
    assert r.matches(plain)
    assert dash.mode == "text" and dash.stop_button is None and dash.box is None
    assert dash.n_draws >= 1
    assert dash.text_bar.n == 300


def test_auto_is_text_outside_a_kernel():
    assert Dashboard().mode == "text"


def test_widget_mode_shows_the_final_state():
    dash = Dashboard(mode="widget")
    r = minimize(SPHERE, "ga", budget=250, seed=0, callbacks=[dash])
    view = dash._view
    assert view.bar.value == r.n_evals == 250 and view.bar.max == 250
    assert f"{r.y:.6g}" in view.status.value
    assert "x0" in view.params.value and "x2" in view.params.value
    assert dash.n_draws >= 1 and dash.figure is not None
    dash.close(r)  # already final: nothing redrawn, idempotent
    n = dash.n_draws
    dash.close(r)
    dash.close()
    assert dash.n_draws == n
    assert dash.stop_button.disabled


def test_stop_button_ends_the_run_cleanly():
    dash = Dashboard(mode="widget")

    def clicker(progress):
        if progress.n_evals >= 100 and not clicker.clicked:
            dash.stop_button.click()
            clicker.clicked = True

    clicker.clicked = False
    r = minimize(SPHERE, "ga", budget=2000, seed=0, callbacks=[dash, clicker])
    assert r.stopped == "callback"
    assert 100 <= r.n_evals < 2000 == dash._view.bar.max
    assert len(r.history) == r.n_evals and math.isfinite(r.y)
    assert dash._view.bar.value == r.n_evals  # the stopped state was drawn


def test_request_stop_in_text_mode():
    dash = Dashboard(mode="text")
    dash.request_stop()
    r = minimize(SPHERE, "ga", budget=500, seed=0, callbacks=[dash])
    dash.close(r)
    assert r.stopped == "callback" and r.n_evals < 500


def test_phases_get_stable_colours():
    dash = Dashboard(mode="widget", every=0)
    r = minimize(SPHERE, "ga>>local", budget=600, seed=1, callbacks=[dash])
    dash.close(r)
    ax = dash.figure.axes[0]
    labels = [c.get_label() for c in ax.collections]
    assert labels == ["ga", "local"]
    colours = [tuple(c.get_facecolor()[0][:3]) for c in ax.collections]
    assert colours[0] != colours[1]
    assert dash._view.chart.colours == {"ga": "#1f77b4", "local": "#ff7f0e"}
    assert [ln.get_label() for ln in ax.lines] == ["best so far"]


def test_close_with_result_without_calls():
    r = minimize(SPHERE, "ga", budget=120, seed=0)
    dash = Dashboard(mode="widget")
    dash.close(r)
    assert dash._view.bar.value == 120 and dash.figure is not None


def test_throttling_keeps_drawing_cheap():
    p = Problem(lambda X: np.einsum("ij,ij->i", X, X), Space.box(10, -5, 5),
                vectorized=True)
    batches = []
    dash = Dashboard(mode="widget", every=0)
    r = minimize(p, "ga", budget=3000, seed=0,
                 callbacks=[dash, lambda prog: batches.append(prog.n_evals)])
    assert dash.n_draws <= len(batches) // 5
    assert dash.draw_seconds <= 0.1 * r.seconds + dash.last_draw_seconds


def test_reuse_after_close_starts_afresh():
    dash = Dashboard(mode="widget")
    for seed in (0, 1):
        r = minimize(SPHERE, "ga", budget=150, seed=seed, callbacks=[dash])
        dash.close(r)
        assert dash._view.bar.value == 150


def test_params_table_and_status_line():
    assert "<td>lr</td><td>0.1</td>" in params_table({"lr": 0.1, "act": "relu"})
    assert "... 5 more" in params_table(np.zeros(25))
    assert params_table(None) == ""
    prog = minimize(SPHERE, "ga", budget=50, seed=0)
    from hybridlab.widgets._views import State

    line = status_line(State(50, 100, math.inf, None, 0.5, lambda: prog.history))
    assert "none feasible yet" in line and "100 evals/s" in line


@pytest.mark.parametrize("kwargs, match", [
    ({"every": -1}, "every must be a finite number >= 0"),
    ({"every": "fast"}, "every must be a number"),
    ({"mode": "gui"}, "mode must be one of"),
    ({"max_points": 0}, "max_points must be"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Dashboard(**kwargs)


def test_executed_notebook_keeps_the_final_plot(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(
        "import numpy as np\n"
        "from hybridlab import Problem, Space, minimize\n"
        "from hybridlab.widgets import Dashboard\n"
        "p = Problem(lambda x: float(np.sum(x ** 2)), Space.box(2, -5, 5))\n"
        "dash = Dashboard()\n"
        "r = minimize(p, 'ga>>local', budget=300, seed=0, callbacks=[dash])\n"
        "dash.close(r)\n"
        "print(dash.mode)"))
    nbclient.NotebookClient(nb, timeout=60, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outs = nb.cells[0].outputs
    kinds = [list(o.get("data", {})) for o in outs]
    assert any("application/vnd.jupyter.widget-view+json" in k for k in kinds)
    assert sum("image/png" in k for k in kinds) == 1
    assert any(o.get("text", "").strip() == "widget" for o in outs)


_SETUP = """
import time, numpy as np
import hybridlab as hl
from hybridlab.widgets import Dashboard
dash = Dashboard(every=0.1)
print(dash.mode, dash.stop_button.model_id)
"""

_RUN = """
def slow(x):
    time.sleep(0.01)
    return float(np.sum(x ** 2))
r = await hl.minimize_async(hl.Problem(slow, hl.Space.box(2, -1, 1)), "random",
                            budget=3000, seed=0, callbacks=[dash])
print("RESULT", r.stopped, r.n_evals)
"""


def test_stop_click_reaches_a_running_cell_in_a_live_kernel():
    """A real kernel: the click is a comm message sent while the cell still runs
    (``await minimize_async`` keeps the kernel answering)."""
    jupyter_client = pytest.importorskip("jupyter_client")
    km, kc = jupyter_client.manager.start_new_kernel(kernel_name="python3")
    try:
        def outputs(msg_id, timeout):
            text = []
            while True:
                msg = kc.get_iopub_msg(timeout=timeout)
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                if msg["msg_type"] == "stream":
                    text.append(msg["content"]["text"])
                if msg["msg_type"] == "error":
                    raise AssertionError("\n".join(msg["content"]["traceback"]))
                if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    return "".join(text)

        mode, button = outputs(kc.execute(_SETUP), 60).split()
        assert mode == "widget"
        run_id = kc.execute(_RUN)
        time.sleep(3.0)  # the run takes ~30 s unless stopped
        msg = kc.session.msg("comm_msg", {"comm_id": button, "data": {
            "method": "custom", "content": {"event": "click"}}})
        kc.shell_channel.send(msg)
        out = outputs(run_id, 60)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    stopped, n = out.split("RESULT")[1].split()
    assert stopped == "callback" and 0 < int(n) < 3000


def test_multifidelity_progress_counts_the_cost():
    from hybridlab import MultiFidelity

    def f(x, fidelity):
        return float(np.sum(x ** 2)) + 1.0 / fidelity

    p = Problem(f, Space.box(2, -1, 1), fidelity=(1, 9))
    dash = Dashboard(mode="widget")
    r = minimize(p, MultiFidelity("ga", 1, 9), budget=300, seed=0, callbacks=[dash])
    assert r.cost <= 300 and r.n_evals > r.cost / 9
    assert dash._view.bar.value == int(r.cost)
    assert dash._view.count.value == f"{r.cost:g} / 300"
    assert "cost" in dash.figure.axes[0].get_title()
