"""``hark report``: the benchmark results as one offline HTML page with plots (benchmarks/html_report.py)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import click

from ..config import project_root
from . import _user_errors, cli


def _html_report() -> ModuleType:
    """benchmarks/html_report.py of the source checkout: the benchmarks are not part of the installed package."""
    path = project_root() / "benchmarks" / "html_report.py"
    if not path.is_file():
        raise click.ClickException(f"hark report runs from a source checkout; {path} is missing")
    spec = importlib.util.spec_from_file_location("hark_benchmarks_html_report", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


@cli.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="HTML file to write (default: build/report.html in the checkout).")
@click.option("--results", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Folder of benchmark result files (default: benchmarks/results in the checkout).")
@_user_errors
def report(out: Path | None, results: Path | None) -> None:
    """Write the benchmark results as one offline HTML page: plots, then docs/benchmarks.md.

    Accuracy against model size, 1-best against 5-best latency, confusion matrices and
    latency percentiles, drawn as inline SVG from benchmarks/results/*.json; a missing or
    unreadable result file leaves a note instead of its plot. Runs from a source checkout.

    \b
    Example:
      hark report --out build/report.html
    """
    module = _html_report()
    root = project_root()
    written = module.write_report(results or root / "benchmarks" / "results", out or root / "build" / "report.html",
                                  root / "docs" / "benchmarks.md")
    click.echo(str(written))
