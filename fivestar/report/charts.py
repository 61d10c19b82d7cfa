"""Inline SVG charts for the HTML report, drawn in Python (no JavaScript, no fonts or images fetched).

In: labels and numbers from the report data. Out: `Markup` strings holding one `<svg>`
each: a stacked bar of star levels by county, a line chart of the ≥三星 share by month
and a county × star heat-map. Every piece of text is escaped here (names come from
submitted workbooks and could hold markup); the SVG inherits the page's Chinese font stack.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

LEVEL_COLORS = ("#B71C1C", "#E65100", "#F9A825", "#7CB342", "#90A4AE", "#CFD8DC")
LINE_COLORS = (
    "#B71C1C",
    "#1565C0",
    "#2E7D32",
    "#6A1B9A",
    "#EF6C00",
    "#00838F",
    "#5D4037",
    "#AD1457",
    "#455A64",
)
FONT = 12


def _w(s: str, size: float = FONT) -> float:
    """Rough rendered width: CJK and full-width characters are square, others about half."""
    return sum(size if ord(ch) > 0x2E7F else size * 0.6 for ch in s)


def _t(x: float, y: float, s: object, *, anchor: str = "start", size: float = FONT, fill: str = "#222",
       weight: str = "normal") -> str:  # fmt: skip
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}"'
        f' font-weight="{weight}">{escape(str(s))}</text>'
    )


def _svg(width: float, height: float, title: str, body: list[str]) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width:.0f}"'
        f' height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
    )
    return Markup(head + "".join(body) + "</svg>")


def stacked_bars(
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    colors: Sequence[str] = LEVEL_COLORS,
) -> Markup:
    """Horizontal bars, one per category, stacked by series (e.g. 五星 … 零星 counts per county)."""
    label_w = max([_w(str(c)) for c in categories] + [60]) + 12
    plot_w, row_h, top = 560.0, 24.0, 48.0
    totals = [sum(int(s[1][i] or 0) for s in series) for i in range(len(categories))]
    scale = plot_w / max(max(totals, default=0), 1)
    width = label_w + plot_w + 60
    height = top + row_h * len(categories) + 16
    body = [_t(8, 18, title, size=14, weight="bold")]
    x = 8.0
    for k, (name, _) in enumerate(series):  # legend
        body.append(f'<rect x="{x:.1f}" y="27" width="12" height="12" fill="{colors[k % len(colors)]}"/>')
        body.append(_t(x + 16, 37.5, name))
        x += 16 + _w(str(name)) + 14
    for i, cat in enumerate(categories):
        y = top + i * row_h
        body.append(_t(label_w - 8, y + 16, cat, anchor="end"))
        x = label_w
        for k, (_, values) in enumerate(series):
            v = int(values[i] or 0)
            if not v:
                continue
            w = v * scale
            color = colors[k % len(colors)]
            body.append(
                f'<rect x="{x:.1f}" y="{y + 3:.1f}" width="{w:.1f}" height="{row_h - 6:.1f}" fill="{color}">'
                f"<title>{escape(str(cat))} {escape(str(series[k][0]))}：{v}</title></rect>"
            )
            if w >= 18:
                body.append(
                    _t(x + w / 2, y + 16, v, anchor="middle", size=11, fill="#fff" if k < 2 else "#222")
                )
            x += w
        body.append(_t(x + 6, y + 16, totals[i], size=11, fill="#555"))
    return _svg(width, height, title, body)


def line_chart(
    title: str,
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    percent: bool = True,
) -> Markup:
    """Lines over categorical months; None leaves a gap. Values are fractions when `percent`."""
    left, right, bottom = 52.0, 24.0, 36.0
    plot_w = max(420.0, 72.0 * max(len(x_labels) - 1, 1))
    plot_h = 220.0
    # Legend entries wrap onto as many rows as the plot width needs.
    legend: list[tuple[float, float]] = []
    x, y = 8.0, 33.0
    for name, _ in series:
        w = 22 + _w(str(name)) + 14
        if x + w > left + plot_w and x > 8.0:
            x, y = 8.0, y + 18
        legend.append((x, y))
        x += w
    top = y + 23
    width, height = left + plot_w + right, top + plot_h + bottom
    vals = [v for _, vs in series for v in vs if v is not None]
    if percent:
        step = 0.1 if max(vals, default=0) <= 0.5 else 0.2
        y_max = min(1.0, max(step * 2, math.ceil(max(vals, default=0) / step + 1e-9) * step))
    else:
        step = None
        y_max = max(vals + [1.0])

    def px(i: int) -> float:
        return left + (plot_w * i / (len(x_labels) - 1) if len(x_labels) > 1 else plot_w / 2)

    def py(v: float) -> float:
        return top + plot_h - plot_h * v / y_max

    body = [_t(8, 18, title, size=14, weight="bold")]
    for k, ((name, _), (x, y)) in enumerate(zip(series, legend, strict=True)):
        c = LINE_COLORS[k % len(LINE_COLORS)]
        body.append(
            f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{x + 18:.1f}" y2="{y:.1f}" stroke="{c}" stroke-width="3"/>'
        )
        body.append(_t(x + 22, y + 4.5, name))
    ticks = round(y_max / step) if step else 5
    for j in range(ticks + 1):
        v = y_max * j / ticks
        y = py(v)
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#e0e0e0"/>')
        body.append(_t(left - 6, y + 4, f"{v * 100:.0f}%" if percent else f"{v:g}", anchor="end", size=11))
    for i, lab in enumerate(x_labels):
        body.append(_t(px(i), top + plot_h + 20, lab, anchor="middle", size=11))
    for k, (name, values) in enumerate(series):
        c = LINE_COLORS[k % len(LINE_COLORS)]
        run: list[str] = []
        for i, v in enumerate(values):
            if v is None:
                if len(run) > 1:
                    body.append(
                        f'<polyline fill="none" stroke="{c}" stroke-width="2.5" points="{" ".join(run)}"/>'
                    )
                run = []
                continue
            run.append(f"{px(i):.1f},{py(v):.1f}")
        if len(run) > 1:
            body.append(f'<polyline fill="none" stroke="{c}" stroke-width="2.5" points="{" ".join(run)}"/>')
        for i, v in enumerate(values):
            if v is None:
                continue
            label = f"{v * 100:.1f}%" if percent else f"{v:g}"
            body.append(
                f'<circle cx="{px(i):.1f}" cy="{py(v):.1f}" r="3.5" fill="{c}">'
                f"<title>{escape(str(name))} {escape(str(x_labels[i]))}：{escape(label)}</title></circle>"
            )
    return _svg(width, height, title, body)


def _heat(v: float) -> str:
    # White → deep red as coverage rises.
    r0, g0, b0, r1, g1, b1 = 255, 245, 240, 183, 28, 28
    t = max(0.0, min(1.0, v))
    return f"#{round(r0 + (r1 - r0) * t):02x}{round(g0 + (g1 - g0) * t):02x}{round(b0 + (b1 - b0) * t):02x}"


def heatmap(
    title: str,
    rows: Sequence[str],
    cols: Sequence[str],
    values: Sequence[Sequence[float | None]],
    marked: Sequence[Sequence[bool]] | None = None,
) -> Markup:
    """A rows × cols grid of shares 0–1 (None = not applicable); `marked` cells get a dark border."""
    label_w = max([_w(str(r)) for r in rows] + [60]) + 12
    cell_w = max([_w(str(c), 11) + 10 for c in cols] + [64])
    cell_h, top = 26.0, 56.0
    width = label_w + cell_w * len(cols) + 12
    height = top + cell_h * len(rows) + 34
    body = [_t(8, 18, title, size=14, weight="bold")]
    for j, c in enumerate(cols):
        body.append(_t(label_w + cell_w * (j + 0.5), top - 8, c, anchor="middle", size=11))
    for i, r in enumerate(rows):
        y = top + i * cell_h
        body.append(_t(label_w - 8, y + 17, r, anchor="end"))
        for j, c in enumerate(cols):
            v = values[i][j]
            x = label_w + j * cell_w
            fill = "#f5f5f5" if v is None else _heat(v)
            tip = f"{r} {c}：" + ("不适用" if v is None else f"{v * 100:.1f}%")
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{cell_w - 2:.1f}" height="{cell_h - 2:.1f}" fill="{fill}">'
                f"<title>{escape(tip)}</title></rect>"
            )
            if marked and marked[i][j]:
                body.append(
                    f'<rect x="{x + 1:.1f}" y="{y + 1:.1f}" width="{cell_w - 4:.1f}" height="{cell_h - 4:.1f}"'
                    ' fill="none" stroke="#111" stroke-width="2"/>'
                )
            label = "—" if v is None else f"{v * 100:.0f}%"
            dark = v is not None and v > 0.55
            body.append(_t(x + (cell_w - 2) / 2, y + 17, label, anchor="middle", size=11,
                           fill="#fff" if dark else "#222"))  # fmt: skip
    y = top + cell_h * len(rows) + 22
    body.append(
        _t(
            8,
            y,
            "颜色越深，获得该星的支部占比越高；黑框为该县最弱的星；“—”为该类支部不适用。",
            size=11,
            fill="#555",
        )
    )
    return _svg(width, height, title, body)
