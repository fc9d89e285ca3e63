"""Plots for the benchmark results as plain SVG (no plotting library is a dependency)."""
from __future__ import annotations

from html import escape
from typing import Sequence

__all__ = ["bar_chart"]


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
