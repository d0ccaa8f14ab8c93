"""A small, generic report writer for case studies: markdown + PNG figures + CSV tables.

:func:`write_report` turns a list of ``(heading, content)`` sections into ``report.md``
in ``out_dir``; a section's content is markdown text, a :class:`pandas.DataFrame` (written
as a markdown table *and* as ``<slug>.csv``) or a matplotlib ``Figure`` (saved as
``<slug>.png`` and linked). The exact command and the package versions close the report.
Every file is written atomically (:func:`hybridlab.io.atomic_write`), so a report is
never half-written.

Example
-------
>>> import tempfile, pandas as pd
>>> from pathlib import Path
>>> d = Path(tempfile.mkdtemp())
>>> path = write_report(d, "Demo", [("Intro", "Some text."),
...                                 ("Numbers", pd.DataFrame({"a": [1, 2]}))],
...                     command="hybridlab reproduce demo", env={"python": "3.x"})
>>> sorted(p.name for p in d.iterdir())
['numbers.csv', 'report.md']
>>> "| a |" in path.read_text().replace("|   a |", "| a |")
True
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hybridlab.io import atomic_write

__all__ = ["slug", "write_report"]


def slug(text: str) -> str:
    """A file-name-safe lower-case version of ``text``.

    >>> slug("Best-so-far curves (median)")
    'best_so_far_curves_median'
    """
    s = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return s or "section"


def _table_md(df: pd.DataFrame, floatfmt: str) -> str:
    try:
        return df.to_markdown(index=False, floatfmt=floatfmt)
    except ImportError:  # tabulate missing: fall back to a plain pipe table
        cols = [str(c) for c in df.columns]
        lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join(str(v) for v in row) + " |"
                  for row in df.itertuples(index=False)]
        return "\n".join(lines)


def write_report(out_dir: str | Path, title: str,
                 sections: Sequence[tuple[str, Any]], command: str,
                 env: Mapping[str, str], *, floatfmt: str = ".4g") -> Path:
    """Write ``out_dir/report.md`` (plus one CSV per table and one PNG per figure).

    Parameters
    ----------
    out_dir : str or pathlib.Path
        Folder of the report; created if needed.
    title : str
        The report's first-level heading.
    sections : sequence of (heading, content)
        ``content`` is a str (markdown), a DataFrame (table + ``<slug(heading)>.csv``), a
        matplotlib Figure (``<slug(heading)>.png``), or a list of these (suffixed
        ``_2``, ``_3``... when several of a kind share a heading).
    command : str
        The exact command that reproduces the report.
    env : mapping of str to str
        Package versions and platform (e.g. :func:`hybridlab.casestudies.environment`).
    floatfmt : str, default ".4g"
        Number format of markdown tables (CSVs keep full precision).

    Returns
    -------
    pathlib.Path
        The path of ``report.md``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lines = [f"# {title}", ""]
    used: set[str] = set()

    def name(heading: str, ext: str) -> str:
        base, k = slug(heading), 1
        stem = base
        while f"{stem}.{ext}" in used:
            k += 1
            stem = f"{base}_{k}"
        used.add(f"{stem}.{ext}")
        return f"{stem}.{ext}"

    for heading, content in sections:
        lines += [f"## {heading}", ""]
        items = content if isinstance(content, list) else [content]
        for item in items:
            if isinstance(item, str):
                lines += [item.rstrip(), ""]
            elif isinstance(item, pd.DataFrame):
                csv = name(heading, "csv")
                atomic_write(out / csv, lambda p, df=item: df.to_csv(p, index=False))
                lines += [_table_md(item, floatfmt), "", f"(CSV: [`{csv}`]({csv}))", ""]
            elif hasattr(item, "savefig"):
                png = name(heading, "png")
                atomic_write(out / png,
                             lambda p, fig=item: fig.savefig(p, dpi=110, bbox_inches="tight",
                                                             format="png"))
                lines += [f"![{heading}]({png})", ""]
            else:
                raise ValueError(f"section {heading!r}: content must be str, DataFrame or "
                                 f"Figure, got {type(item).__name__}")
    lines += ["## Reproduce", "", "```bash", command, "```", "",
              "## Environment", "",
              _table_md(pd.DataFrame({"package": list(env), "version": list(env.values())}),
                        floatfmt), ""]
    path = out / "report.md"
    text = "\n".join(lines)
    atomic_write(path, lambda p: Path(p).write_text(text, encoding="utf-8"))
    return path


def ci95(values: Any) -> tuple[float, float]:
    """Mean and half-width of the 95 % t-interval (NaN half-width for one value).

    Example
    -------
    >>> m, h = ci95([0.9, 1.0, 1.1])
    >>> round(m, 6), round(h, 4)
    (1.0, 0.2484)
    """
    from scipy import stats

    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return float(v.mean()), math.nan
    return float(v.mean()), float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1)
                                  / math.sqrt(len(v)))
