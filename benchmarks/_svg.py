"""Plots for the benchmark results as plain SVG (no plotting library is a dependency)."""
from __future__ import annotations

import math
from html import escape
from typing import Callable, Mapping, Sequence

__all__ = ["Skip", "bar_chart", "scatter_svg", "bars_svg", "heatmap_svg", "nice_ticks", "log_ticks"]

PALETTE = ("#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#bbbbbb")  # Paul Tol's, colour-blind safe
CHAR_PX = 6.6  # about the width of one character of the plots' 12 px sans-serif: enough to lay out labels


class Skip(Exception):
    """A plot cannot be drawn from what the result files hold; the message says what is missing."""


def bar_chart(labels: Sequence[str], values: Sequence[float], *, title: str = "", xlabel: str = "",
              vmax: float = 1.0, width: int = 640, bar: int = 14) -> str:
    """Horizontal bars, one row per label, values in [0, ``vmax``], a grid every tenth of ``vmax``."""
    left, top, right = 170, 40, 20
    plot = width - left - right
    height = top + bar * len(labels) + 40
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
           f'font-size="11">', f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">{escape(title)}</text>']
    for k in range(11):
        x = left + plot * k / 10
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + bar * len(labels)}" stroke="#ddd"/>')
        out.append(f'<text x="{x:.1f}" y="{top + bar * len(labels) + 14}" text-anchor="middle">'
                   f'{vmax * k / 10:g}</text>')
    for i, (label, value) in enumerate(zip(labels, values)):
        y = top + bar * i
        w = plot * max(0.0, min(float(value), vmax)) / vmax
        out.append(f'<text x="{left - 6}" y="{y + bar - 4}" text-anchor="end">{escape(str(label))}</text>')
        out.append(f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="{bar - 4}" fill="#4477aa"/>')
        out.append(f'<text x="{left + w + 4:.1f}" y="{y + bar - 4}">{float(value):.2f}</text>')
    out.append(f'<text x="{left + plot / 2}" y="{height - 8}" text-anchor="middle">{escape(xlabel)}</text>')
    return "\n".join(out + ["</svg>"]) + "\n"


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi], about ``count`` of them."""
    raw = (max(hi, lo + 1e-9) - lo) / count
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 2.5, 5, 10) if step * m >= raw)
    first = math.floor(lo / step) * step
    return [round(first + i * step, 10) for i in range(int(math.ceil((hi - first) / step - 1e-9)) + 1)]


def log_ticks(lo: float, hi: float) -> list[float]:
    """The 1-2-5 ticks of a log axis inside [lo, hi]."""
    ticks = [m * 10 ** e for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1) for m in (1, 2, 5)]
    return [t for t in ticks if lo <= t <= hi] or [lo, hi]


def _fmt(v: float) -> str:
    return f"{v:.0f}" if abs(v) >= 100 or v == int(v) else (f"{v:.1f}" if abs(v) >= 10 else f"{v:.3g}")


def _svg(width: float, height: float, body: list[str], label: str) -> str:
    return (f'<svg class="plot" width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'role="img" aria-label="{escape(label)}" font-family="sans-serif" font-size="12">\n'
            + "\n".join(body) + "\n</svg>")


def _legend(names: Sequence[str], x: float, y: float) -> list[str]:
    out = []
    for i, name in enumerate(names):
        out += [f'<rect x="{x:.1f}" y="{y - 9}" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>',
                f'<text x="{x + 14:.1f}" y="{y}">{escape(name)}</text>']
        x += 30 + CHAR_PX * len(name)
    return out


def _axis(ticks: Sequence[float], at: Callable[[float], float], vertical: bool, span: tuple[float, float]) -> list[str]:
    """Grid lines and tick labels: vertical lines for an x axis (labels under ``span[1]``), horizontal for y."""
    out = []
    for t in ticks:
        p = at(t)
        if vertical:
            out += [f'<line x1="{p:.1f}" y1="{span[0]}" x2="{p:.1f}" y2="{span[1]}" stroke="#e3e3e3"/>',
                    f'<text x="{p:.1f}" y="{span[1] + 16}" text-anchor="middle">{_fmt(t)}</text>']
        else:
            out += [f'<line x1="{span[0]}" y1="{p:.1f}" x2="{span[1]}" y2="{p:.1f}" stroke="#e3e3e3"/>',
                    f'<text x="{span[0] - 6}" y="{p + 4:.1f}" text-anchor="end">{_fmt(t)}</text>']
    return out


def scatter_svg(series: Mapping[str, Sequence[tuple[float, float, str]]], *, x_label: str, y_label: str,
                log_x: bool = False, width: int = 560, height: int = 360) -> str:
    """Labelled points (x, y, label), one colour per series; each label goes where it overlaps nothing."""
    pts = [p for ps in series.values() for p in ps]
    if not pts:
        raise Skip("no points to plot")
    left, top, pw, ph = 64, 34, width - 64 - 24, height - 34 - 50
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    if log_x:
        x0, x1 = min(xs) / 1.5, max(xs) * 1.5
        xticks, xscale = log_ticks(x0, x1), math.log
    else:
        xticks, xscale = nice_ticks(min(min(xs), 0.0), max(xs)), float
        x0, x1 = xticks[0], xticks[-1]
    pad = max(0.5, (max(ys) - min(ys)) * 0.15)
    yticks = nice_ticks(min(ys) - pad, max(ys) + pad)
    tx = lambda v: left + pw * (xscale(v) - xscale(x0)) / (xscale(x1) - xscale(x0))  # noqa: E731
    ty = lambda v: top + ph * (1 - (v - yticks[0]) / (yticks[-1] - yticks[0]))  # noqa: E731
    body = [f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#999"/>',
            *_axis(xticks, tx, True, (top, top + ph)), *_axis(yticks, ty, False, (left, left + pw)),
            f'<text x="{left + pw / 2}" y="{height - 10}" text-anchor="middle">{escape(x_label)}</text>',
            f'<text transform="translate(16 {top + ph / 2}) rotate(-90)" text-anchor="middle">{escape(y_label)}</text>',
            *_legend(list(series), left, 18)]
    taken = [(tx(x) - 6, ty(y) - 6, tx(x) + 6, ty(y) + 6) for x, y, _ in pts]
    labels = []
    for i, ps in enumerate(series.values()):
        for x, y, label in ps:
            colour = PALETTE[i % len(PALETTE)]
            body.append(f'<circle cx="{tx(x):.1f}" cy="{ty(y):.1f}" r="5" fill="{colour}" '
                        f'fill-opacity="0.85"><title>{escape(label)}: {x:g}, {y:g}</title></circle>')
            labels.append(_place_label(label, tx(x), ty(y), taken, (left, top, left + pw, top + ph), colour))
    return _svg(width, height, body + labels, y_label + " against " + x_label)


def _place_label(text: str, cx: float, cy: float, taken: list, box: tuple[float, ...], colour: str) -> str:
    """Greedy: the first spot right, left, above or below the point that is inside the plot and free."""
    w = CHAR_PX * len(text)
    tries = [(8, 4), (-8 - w, 4), (8, -9), (8, 17), (-8 - w, -9), (-8 - w, 17), (-w / 2, -11), (-w / 2, 21),
             (8, -22), (8, 30), (-8 - w, -22), (-8 - w, 30)]
    for dx, dy in tries + tries[:1]:
        x, y = cx + dx, cy + dy
        rect = (x, y - 10, x + w, y + 2)
        inside = box[0] <= rect[0] and rect[2] <= box[2] and box[1] <= rect[1] and rect[3] <= box[3]
        if inside and not any(rect[0] < b[2] and b[0] < rect[2] and rect[1] < b[3] and b[1] < rect[3] for b in taken):
            break
    taken.append(rect)
    leader = "" if abs(dy) < 8 else (f'<line x1="{cx:.1f}" y1="{cy:.1f}" x2="{x + (0 if dx > 0 else w):.1f}" '
                                     f'y2="{y - 4:.1f}" stroke="{colour}" stroke-width="0.8"/>')
    return leader + f'<text x="{x:.1f}" y="{y:.1f}" fill="{colour}">{escape(text)}</text>'


def bars_svg(categories: Sequence[str], series: Mapping[str, Sequence[float | None]], *, value_label: str,
             width: int = 560, bar: int = 13) -> str:
    """Horizontal grouped bars: one row per category, one bar per series, the value printed at each bar's end."""
    values = [v for vs in series.values() for v in vs if v is not None]
    if not categories or not values:
        raise Skip("no values to plot")
    left, top, group = min(280, 16 + CHAR_PX * max(map(len, categories))), 34, bar * len(series) + 10
    pw, ph = width - left - 56, group * len(categories)
    ticks = nice_ticks(0.0, max(max(values), 1e-9))
    tx = lambda v: left + pw * v / ticks[-1]  # noqa: E731
    body = _axis(ticks, tx, True, (top, top + ph))
    for r, category in enumerate(categories):
        y = top + group * r + 5
        body.append(f'<text x="{left - 6}" y="{y + group / 2 - 1:.1f}" text-anchor="end">{escape(category)}</text>')
        for s, (name, vs) in enumerate(series.items()):
            v, by = vs[r], y + bar * s
            if v is None:
                body.append(f'<text x="{left + 4}" y="{by + bar - 3}" fill="#999">{escape(name)}: not recorded</text>')
                continue
            body += [f'<rect class="bar" x="{left}" y="{by}" width="{tx(v) - left:.1f}" height="{bar - 2}" fill='
                     f'"{PALETTE[s % len(PALETTE)]}"><title>{escape(category)}, {escape(name)}: {v:g}</title></rect>',
                     f'<text x="{tx(v) + 4:.1f}" y="{by + bar - 3}" font-size="11">{_fmt(v)}</text>']
    height = top + ph + 46
    body += [f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" stroke="#666"/>',
             f'<text x="{left + pw / 2}" y="{height - 10}" text-anchor="middle">{escape(value_label)}</text>']
    return _svg(width, height, body + _legend(list(series), left, 18), value_label)


def heatmap_svg(rows: Sequence[str], columns: Sequence[str], values: Sequence[Sequence[float | None]], *,
                row_label: str, column_label: str, value_label: str, vmin: float = 0.0, vmax: float | None = None,
                fmt: Callable[[float], str] = _fmt, cell: int = 40) -> str:
    """A matrix of cells shaded from white (``vmin``) to dark blue (``vmax``), each printing its value."""
    flat = [v for row in values for v in row if v is not None]
    if not rows or not columns or not flat:
        raise Skip("empty matrix")
    vmax = max(flat) if vmax is None else vmax
    rise = CHAR_PX * max(map(len, columns)) * 0.72  # the 45-degree column labels reach this far up and right
    left, top = 34 + CHAR_PX * max(map(len, rows)), 34 + rise
    width = max(left + cell * len(columns) + rise, left + CHAR_PX * (len(value_label) + 8))
    height = top + cell * len(rows) + 26
    body = [f'<text x="{left + cell * len(columns) / 2:.1f}" y="14" text-anchor="middle" font-weight="bold">'
            f'{escape(column_label)}</text>', f'<text transform="translate(14 {top + cell * len(rows) / 2:.1f}) '
            f'rotate(-90)" text-anchor="middle" font-weight="bold">{escape(row_label)}</text>']
    body += [f'<text transform="translate({left + cell * j + cell / 2:.1f} {top - 6:.1f}) rotate(-45)">{escape(c)}'
             "</text>" for j, c in enumerate(columns)]
    for i, r in enumerate(rows):
        y = top + cell * i
        body.append(f'<text x="{left - 6:.1f}" y="{y + cell / 2 + 4:.1f}" text-anchor="end">{escape(r)}</text>')
        for j, v in enumerate(values[i]):
            x, t = left + cell * j, 0.0 if v is None else max(0.0, min(1.0, (v - vmin) / ((vmax - vmin) or 1.0)))
            fill = "#eeeeee" if v is None else "#%02x%02x%02x" % tuple(round(255 + (d - 255) * t) for d in (8, 69, 148))
            shown = "–" if v is None else fmt(v)
            body += [f'<rect class="cell" x="{x:.1f}" y="{y:.1f}" width="{cell}" height="{cell}" fill="{fill}" '
                     f'stroke="white"><title>{escape(r)} / {escape(columns[j])}: {escape(shown)}</title></rect>',
                     f'<text x="{x + cell / 2:.1f}" y="{y + cell / 2 + 4:.1f}" text-anchor="middle" font-size="11" '
                     f'fill="{"white" if t > 0.55 else "#222"}">{escape(shown)}</text>']
    body.append(f'<text x="{left}" y="{height - 6:.1f}" font-size="11" fill="#555">cells: {escape(value_label)}</text>')
    return _svg(width, height, body, f"{row_label} by {column_label}: {value_label}")
