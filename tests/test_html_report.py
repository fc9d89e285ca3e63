"""`hark report` writes one offline HTML page of the benchmark results (benchmarks/html_report.py): the command on the
checkout's results and on broken result folders, then the SVG helpers and the markdown converter on small inputs."""
from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import html_report  # noqa: E402


def hark_report(*args: str) -> tuple[subprocess.CompletedProcess, str]:
    done = subprocess.run([sys.executable, "-m", "hark.cli", "report", *args], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    out = Path(args[args.index("--out") + 1])
    return done, out.read_text(encoding="utf-8") if out.is_file() else ""


def loads_nothing_from_the_network(page: str) -> None:
    assert "<script" not in page and "<link" not in page and "@import" not in page and "url(" not in page
    for tag, url in re.findall(r"<(\w+)\b[^>]*?\b(?:src|href)\s*=\s*[\"']?([^\"'\s>]*)", page):
        if re.match(r"(https?:)?//", url):
            assert tag == "a", f"<{tag}> loads {url}"


def test_report_of_the_checkout_is_offline_with_plots_and_the_markdown_tables(tmp_path):
    done, page = hark_report("--out", str(tmp_path / "r.html"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(tmp_path / "r.html")
    assert page.count("<svg") >= 5 and page.count("<circle") >= 5 and "<figcaption>" in page
    loads_nothing_from_the_network(page)
    doc = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8").splitlines()
    first_table = next(line for i, line in enumerate(doc) if line.startswith("|") and doc[i + 1].startswith("|---"))
    header = "".join(f"<th>{html.escape(c.strip())}</th>" for c in first_table.strip().strip("|").split("|"))
    assert f"<thead><tr>{header}</tr></thead>" in page
    assert "intent_snips.json" in page and "scene.json" in page  # captions name their result files


def test_a_malformed_file_or_an_empty_folder_still_gives_a_page(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "intent_snips.json").write_text("{not json", encoding="utf-8")
    (broken / "templates.json").write_text(json.dumps({"failures": "none", "latency_ms": [1, 2],
                                                       "per_skill_intent_accuracy": {"home": "high"}}))
    (broken / "scene.json").write_text(json.dumps({"scenes": {"confusion": {"rows": ["a"], "columns": ["a"],
                                                                            "counts": [["x"]]}}}))
    done, page = hark_report("--out", str(tmp_path / "broken.html"), "--results", str(broken))
    assert done.returncode == 0, done.stderr
    assert "skipped</strong> intent_snips.json" in page and 'class="note"' in page
    assert "Traceback" not in page and "</html>" in page
    (tmp_path / "empty").mkdir()
    done, page = hark_report("--out", str(tmp_path / "empty.html"), "--results", str(tmp_path / "empty"))
    assert done.returncode == 0, done.stderr
    assert "no result files found" in page and page.count('class="note"') >= 5 and "<table>" in page
    loads_nothing_from_the_network(page)


def attr(svg: str, tag: str, name: str) -> list[float]:
    return [float(v) for v in re.findall(rf'<{tag}\b[^>]*?\b{name}="([-\d.]+)"', svg)]


@pytest.mark.parametrize("log_x", [False, True])
def test_scatter_places_each_point_monotonically(log_x):
    svg = html_report.scatter_svg({"a": [(1.0, 10.0, "p"), (2.0, 20.0, "q")], "b": [(4.0, 30.0, "r")]},
                                  x_label="size (MB)", y_label="F1 (%)", log_x=log_x)
    cx, cy = attr(svg, "circle", "cx"), attr(svg, "circle", "cy")
    assert len(cx) == 3 and svg.count("<circle") == 3
    assert cx == sorted(cx) and len(set(cx)) == 3
    assert cy == sorted(cy, reverse=True) and len(set(cy)) == 3  # SVG's y grows downwards
    assert "size (MB)" in svg and "F1 (%)" in svg and all(f">{label}</text>" in svg for label in "pqr")


def test_scatter_labels_of_coinciding_points_do_not_overlap():
    svg = html_report.scatter_svg({"a": [(5.0, 1.0, "int4"), (5.0, 1.0, "int4_qat"), (5.0, 1.0, "int4_x")]},
                                  x_label="x", y_label="y")
    spots = re.findall(r'<text x="([-\d.]+)" y="([-\d.]+)" fill="[^"]+">int4', svg)
    assert len(set(spots)) == 3


def test_bars_are_as_long_as_their_values_and_missing_ones_are_said():
    svg = html_report.bars_svg(["one", "two"], {"p50": [1.0, 3.0], "p95": [2.0, None]}, value_label="latency (ms)")
    bars = [float(w) for w in re.findall(r'class="bar"[^>]*width="([\d.]+)"', svg)]  # p50 one, p95 one, p50 two
    assert len(bars) == 3 and bars[0] < bars[1] < bars[2]
    assert bars[1] == pytest.approx(2 * bars[0], abs=0.2) and "not recorded" in svg and "latency (ms)" in svg


def test_heatmap_has_a_cell_per_value_and_marks_empty_cells():
    svg = html_report.heatmap_svg(["x", "y"], ["a", "b", "c"], [[1, 2, None], [0, 5, 3]], row_label="true",
                                  column_label="predicted", value_label="count")
    fills = re.findall(r'class="cell"[^>]*fill="(#[0-9a-f]{6})"', svg)
    assert len(fills) == 6 and fills[4] == "#084594" and fills[3] == "#ffffff" and ">–</text>" in svg
    assert "true" in svg and "predicted" in svg and "cells: count" in svg


def test_empty_inputs_raise_skip_not_a_broken_plot():
    with pytest.raises(html_report.Skip):
        html_report.scatter_svg({}, x_label="x", y_label="y")
    with pytest.raises(html_report.Skip):
        html_report.bars_svg(["a"], {"p50": [None]}, value_label="ms")


def test_latency_groups_find_percentiles_under_millisecond_keys_only():
    found = html_report.latency_groups({
        "latency_ms": {"text_p50": 1.0, "text_p95": 3.0, "samples": 9},
        "clean": {"end_to_action_ms": {"p50": 800, "p95": 1000}, "batch": {"p50_ms": 2.0, "cpu_p50_ms": 1.9}},
        "vad": {"error": {"p90": 12.0}}})
    assert found == {"latency / text": {"p50": 1.0, "p95": 3.0}, "clean / end to action": {"p50": 800, "p95": 1000},
                     "clean / batch": {"p50": 2.0}}


def test_markdown_subset():
    out = html_report.markdown_to_html(
        "# Title\n\nSome **bold** and `a|b <c>` and [doc](x.md#y) and [site](https://e.org).\n\n"
        "| a | b |\n|---|---|\n| `x \\| y` | *z* |\n\n> **Note:** quoted\n\n"
        "```\n<raw> & **not bold**\n```\n\n- one\n- two\n",
        link_base="../docs/")
    assert '<h2 id="title">Title</h2>' in out
    assert "<strong>bold</strong>" in out and "<code>a|b &lt;c&gt;</code>" in out
    assert '<a href="../docs/x.md#y">doc</a>' in out and '<a href="https://e.org">site</a>' in out
    assert "<td><code>x | y</code></td><td><em>z</em></td>" in out
    assert "<blockquote><p><strong>Note:</strong> quoted</p></blockquote>" in out
    assert "<pre><code>&lt;raw&gt; &amp; **not bold**</code></pre>" in out
    assert "<ul><li>one</li><li>two</li></ul>" in out
