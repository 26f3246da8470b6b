"""Charts drawn on the server as SVG: no script, no CDN, nothing for a slow connection to
fetch. Colours are the Okabe–Ito palette, which people with any common colour-vision
deficiency tell apart; lines also differ by dash and marker, so nothing rests on colour alone.
Every chart has labelled axes, a title and description for screen readers, and its figures
as a table (`Chart.rows`) that the page shows beside it.

A value of None is a hidden small cell (or a rate over too few messages): no bar or point is
drawn and the table shows `Chart.hidden`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from markupsafe import Markup, escape

# Okabe & Ito (2008): blue, orange, bluish green, reddish purple, sky blue, vermillion, black.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "4 4", "1 2", "10 4")
MARKERS = ("circle", "square", "diamond", "triangle", "circle", "square", "diamond")
WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 40, 72
FONT = "system-ui, 'Noto Sans', sans-serif"


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float | None]


@dataclass
class Chart:
    id: str  # unique on the page: the SVG's title and description are found by it
    title: str
    x_label: str
    y_label: str
    categories: list[str]
    series: list[Series]
    kind: Literal["bar", "line"] = "bar"
    percent: bool = False  # values are fractions, shown as per cent
    hidden: str = "<5"  # what the table shows for a value of None
    note: str = ""
    sheet: str = ""  # the workbook sheet its figures go in (Excel allows 31 characters)

    def cell(self, value: float | None) -> str:
        if value is None:
            return self.hidden
        if self.percent:
            return f"{value * 100:.0f}%"
        return f"{value:g}" if isinstance(value, float) else str(value)

    def rows(self) -> list[tuple[str, list[str]]]:
        """The chart as a table: one row per category, one cell per series."""
        return [
            (category, [self.cell(s.values[i]) for s in self.series])
            for i, category in enumerate(self.categories)
        ]

    def empty(self) -> bool:
        """Nothing to draw: every value is 0 (a hidden value is something: it is under 5)."""
        return all(v == 0 for s in self.series for v in s.values)

    def svg(self) -> Markup:
        top = max((v for s in self.series for v in s.values if v is not None), default=0)
        ticks = _ticks(1.0 if self.percent else top)
        ceiling = ticks[-1] or 1
        plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

        def y(value: float) -> float:
            return TOP + plot_h - value / ceiling * plot_h

        out = [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
            f'class="chart" role="img" aria-labelledby="{self.id}-t {self.id}-d" '
            f'font-family="{FONT}" font-size="12" fill="#1b1b1b">',
            f'<title id="{self.id}-t">{escape(self.title)}</title>',
            f'<desc id="{self.id}-d">{escape(self._describe())}</desc>',
        ]
        for tick in ticks:  # horizontal grid lines with their values
            out.append(
                f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
                f'stroke="#d8d8d2" stroke-width="1"/>'
                f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">'
                f"{escape(self.cell(tick) if self.percent else _short(tick))}</text>"
            )
        out.append(
            f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}" stroke="#1b1b1b"/>'
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" '
            f'stroke="#1b1b1b"/>'
        )
        n = max(len(self.categories), 1)
        band = plot_w / n
        every = math.ceil(n / 16)  # at most 16 labels under the axis
        for i, category in enumerate(self.categories):
            if i % every:
                continue
            x = LEFT + band * (i + 0.5)
            label = category if len(category) <= 14 else category[:13] + "…"
            out.append(
                f'<text x="{x:.1f}" y="{TOP + plot_h + 14}" text-anchor="end" '
                f'transform="rotate(-30 {x:.1f} {TOP + plot_h + 14})">{escape(label)}</text>'
            )
        if self.kind == "bar":
            out += self._bars(band, y, TOP + plot_h)
        else:
            out += self._lines(band, y)
        out.append(  # axis labels
            f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle" '
            f'font-weight="600">{escape(self.x_label)}</text>'
            f'<text x="14" y="{TOP + plot_h / 2:.1f}" text-anchor="middle" font-weight="600" '
            f'transform="rotate(-90 14 {TOP + plot_h / 2:.1f})">{escape(self.y_label)}</text>'
        )
        out += self._legend()
        out.append("</svg>")
        return Markup("".join(out))  # noqa: S704 (every text in it went through escape())

    def _bars(self, band: float, y: Callable[[float], float], baseline: float) -> list[str]:
        out = []
        k = max(len(self.series), 1)
        width = band * 0.8 / k
        for j, series in enumerate(self.series):
            colour = PALETTE[j % len(PALETTE)]
            for i, value in enumerate(series.values):
                x = LEFT + band * i + band * 0.1 + width * j
                if value is None:  # a hidden cell: a mark on the axis, not a bar
                    out.append(
                        f'<text x="{x + width / 2:.1f}" y="{baseline - 3}" text-anchor="middle" '
                        f'font-size="9" fill="#4a4a4a">{escape(self.hidden)}</text>'
                    )
                    continue
                top = y(value)
                out.append(
                    f'<rect x="{x:.1f}" y="{top:.1f}" width="{max(width - 1, 1):.1f}" '
                    f'height="{baseline - top:.1f}" fill="{colour}">'
                    f"<title>{escape(series.name)}, {escape(self.categories[i])}: "
                    f"{escape(self.cell(value))}</title></rect>"
                )
        return out

    def _lines(self, band: float, y: Callable[[float], float]) -> list[str]:
        out = []
        for j, series in enumerate(self.series):
            colour, dash = PALETTE[j % len(PALETTE)], DASHES[j % len(DASHES)]
            points = [(LEFT + band * (i + 0.5), y(v or 0), v) for i, v in enumerate(series.values)]
            # A gap where a value is hidden: the line is drawn in runs.
            run: list[str] = []
            for x, top, value in [*points, (0.0, 0.0, None)]:
                if value is None:
                    if len(run) > 1:
                        out.append(
                            f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" '
                            f'stroke-width="2.5" stroke-dasharray="{dash}"/>'
                        )
                    run = []
                else:
                    run.append(f"{x:.1f},{top:.1f}")
            for i, (x, top, value) in enumerate(points):
                if value is not None:
                    out.append(
                        _marker(MARKERS[j % len(MARKERS)], x, top, colour)
                        + f"<title>{escape(series.name)}, {escape(self.categories[i])}: "
                        f"{escape(self.cell(value))}</title></g>"
                    )
        return out

    def _legend(self) -> list[str]:
        out, x = [], LEFT
        for j, series in enumerate(self.series):
            colour = PALETTE[j % len(PALETTE)]
            if self.kind == "bar":
                swatch = f'<rect x="{x}" y="12" width="12" height="12" fill="{colour}"/>'
            else:
                swatch = (
                    f'<line x1="{x - 2}" x2="{x + 14}" y1="18" y2="18" stroke="{colour}" '
                    f'stroke-width="2.5" stroke-dasharray="{DASHES[j % len(DASHES)]}"/>'
                    + _marker(MARKERS[j % len(MARKERS)], x + 6, 18, colour)
                    + "</g>"
                )
            out.append(f'{swatch}<text x="{x + 18}" y="22">{escape(series.name)}</text>')
            x += 30 + 7 * len(series.name)
        return out

    def _describe(self) -> str:
        if self.empty():
            return f"{self.title}: nothing in this period."
        return f"{self.y_label} by {self.x_label.lower()}; the table below gives every figure."


def _marker(shape: str, x: float, y: float, colour: str) -> str:
    """An open <g> with the marker drawn; the caller adds a title and closes it."""
    if shape == "square":
        body = f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="{colour}"/>'
    elif shape == "diamond":
        body = (
            f'<polygon points="{x:.1f},{y - 5:.1f} {x + 5:.1f},{y:.1f} {x:.1f},{y + 5:.1f} '
            f'{x - 5:.1f},{y:.1f}" fill="{colour}"/>'
        )
    elif shape == "triangle":
        body = (
            f'<polygon points="{x:.1f},{y - 5:.1f} {x + 5:.1f},{y + 4:.1f} '
            f'{x - 5:.1f},{y + 4:.1f}" fill="{colour}"/>'
        )
    else:
        body = f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"/>'
    return f"<g>{body}"


def _ticks(top: float) -> list[float]:
    """0 and round steps up to at least `top`: 1, 2 or 5 times a power of ten."""
    if top <= 0:
        return [0, 1]
    raw = top / 5
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if top <= 1 and step < 0.1:
        step = 0.1
    count = math.ceil(top / step - 1e-9)
    return [round(step * n, 6) for n in range(count + 1)]


def _short(value: float) -> str:
    return f"{value:g}" if value < 10_000 else f"{value / 1000:g}k"
