"""One report writer: a folder with a markdown file, CSV tables, figures and provenance.

:func:`write_report` writes a report folder whose markdown the caller composed: each table
as ``<name>.csv``, each figure as a PNG, the provenance (if given) as ``provenance.json``,
the markdown last -- every file atomically (:func:`hybridlab.io.atomic_write`), so a
report is never half-written.  :func:`render_sections` composes markdown from ``(heading,
content)`` sections, where a content is text, a table or a figure, and names the files
they need.  A comparison study (:func:`hybridlab.study.write_report`) and both case
studies (:mod:`hybridlab.casestudies`) compose their sections and call it.  This module is
on the ground floor: it imports only :mod:`hybridlab.io`.

Example
-------
>>> import tempfile, pandas as pd
>>> from pathlib import Path
>>> d = Path(tempfile.mkdtemp())
>>> text, tables, figures = render_sections(
...     "Demo", [("Intro", "Some text."), ("Numbers", pd.DataFrame({"a": [1, 2]}))],
...     command="hybridlab reproduce demo", env={"python": "3.x"})
>>> path = write_report(d, text, tables=tables, figures=figures)
>>> sorted(p.name for p in d.iterdir())
['numbers.csv', 'report.md']
>>> "| a |" in path.read_text().replace("|   a |", "| a |")
True
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .io import atomic_write

__all__ = ["markdown_table", "render_sections", "slug", "write_report"]


def slug(text: str) -> str:
    """A file-name-safe lower-case version of ``text``.

    >>> slug("Best-so-far curves (median)")
    'best_so_far_curves_median'
    """
    s = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return s or "section"


def markdown_table(df: pd.DataFrame, floatfmt: str = ".4g", index: bool = False) -> str:
    """``df`` as a markdown pipe table (plain pipes when ``tabulate`` is missing).

    >>> print(markdown_table(pd.DataFrame({"a": [1.23456]}), ".3g"))
    |    a |
    |-----:|
    | 1.23 |
    """
    try:
        return df.to_markdown(index=index, floatfmt=floatfmt)
    except ImportError:  # tabulate missing: fall back to a plain pipe table
        frame = df.reset_index() if index else df
        cols = [str(c) for c in frame.columns]
        lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join(str(v) for v in row) + " |"
                  for row in frame.itertuples(index=False)]
        return "\n".join(lines)


def _save_png(fig: Any) -> Callable[[str], object]:
    return lambda p: fig.savefig(p, dpi=110, bbox_inches="tight", format="png")


def write_report(out_dir: str | os.PathLike, markdown: str, *,
                 tables: Mapping[str, pd.DataFrame] | None = None,
                 figures: Mapping[str, Any] | None = None,
                 provenance: Mapping[str, Any] | None = None,
                 filename: str = "report.md") -> Path:
    """Write one report folder, every file atomically; return the markdown file's path.

    Parameters
    ----------
    out_dir : str or path
        The folder (created if needed).
    markdown : str
        The report's text, written last as ``out_dir/filename``.
    tables : mapping of str to DataFrame, optional
        ``name -> table``, written as ``<name>.csv`` (without the index; ``name`` may
        already end in ``.csv``).
    figures : mapping of str to Figure or callable, optional
        ``file name -> figure``: a matplotlib figure is saved as PNG (dpi 110, tight
        bounding box); a callable ``write(path)`` writes the file itself.
    provenance : mapping, optional
        Written as ``provenance.json`` (e.g. :func:`hybridlab.provenance.environment`).
    filename : str, default "report.md"
        Name of the markdown file.

    Returns
    -------
    pathlib.Path
        The markdown file.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, df in (tables or {}).items():
        file = name if name.endswith(".csv") else f"{name}.csv"
        atomic_write(out / file, lambda p, df=df: df.to_csv(p, index=False))
    for name, fig in (figures or {}).items():
        atomic_write(out / name, fig if callable(fig) else _save_png(fig))
    if provenance is not None:
        doc = json.dumps(dict(provenance), indent=1) + "\n"
        atomic_write(out / "provenance.json",
                     lambda p: Path(p).write_text(doc, encoding="utf-8"))
    path = out / filename
    atomic_write(path, lambda p: Path(p).write_text(markdown, encoding="utf-8"))
    return path


def render_sections(title: str, sections: Sequence[tuple[str, Any]], *,
                    command: str | None = None, env: Mapping[str, str] | None = None,
                    floatfmt: str = ".4g"
                    ) -> tuple[str, dict[str, pd.DataFrame], dict[str, Any]]:
    """Markdown, tables and figures of a report made of ``(heading, content)`` sections.

    Parameters
    ----------
    title : str
        The report's first-level heading.
    sections : sequence of (heading, content)
        ``content`` is a str (markdown), a DataFrame (a markdown table, and
        ``<slug(heading)>.csv``), a matplotlib Figure (``<slug(heading)>.png``), or a list
        of these (suffixed ``_2``, ``_3``... when several of a kind share a heading).
    command : str, optional
        The exact command that reproduces the report: a closing "Reproduce" section.
    env : mapping of str to str, optional
        Package versions and platform (:func:`hybridlab.provenance.environment`): a
        closing "Environment" table.
    floatfmt : str, default ".4g"
        Number format of markdown tables (CSVs keep full precision).

    Returns
    -------
    (str, dict, dict)
        The markdown, ``csv name -> table`` and ``png name -> figure``, ready for
        :func:`write_report`.

    Raises
    ------
    ValueError
        A content of another type.
    """
    lines = [f"# {title}", ""]
    tables: dict[str, pd.DataFrame] = {}
    figures: dict[str, Any] = {}

    def name(heading: str, ext: str) -> str:
        base, k = slug(heading), 1
        stem = base
        while f"{stem}.{ext}" in tables or f"{stem}.{ext}" in figures:
            k += 1
            stem = f"{base}_{k}"
        return f"{stem}.{ext}"

    for heading, content in sections:
        lines += [f"## {heading}", ""]
        for item in content if isinstance(content, list) else [content]:
            if isinstance(item, str):
                lines += [item.rstrip(), ""]
            elif isinstance(item, pd.DataFrame):
                csv = name(heading, "csv")
                tables[csv] = item
                lines += [markdown_table(item, floatfmt), "", f"(CSV: [`{csv}`]({csv}))", ""]
            elif hasattr(item, "savefig"):
                png = name(heading, "png")
                figures[png] = item
                lines += [f"![{heading}]({png})", ""]
            else:
                raise ValueError(f"section {heading!r}: content must be str, DataFrame or "
                                 f"Figure, got {type(item).__name__}")
    if command is not None:
        lines += ["## Reproduce", "", "```bash", command, "```", ""]
    if env is not None:
        lines += ["## Environment", "",
                  markdown_table(pd.DataFrame({"package": list(env),
                                               "version": list(env.values())}), floatfmt),
                  ""]
    return "\n".join(lines), tables, figures
