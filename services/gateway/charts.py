"""The annual report's charts: static, accessible SVG drawn by matplotlib, for inlining in the page.

- Built on `Figure` and `FigureCanvasSVG`, never pyplot's global figures. The SVG settings come from
  an `rc_context` (text stays `<text>`, a fixed hash salt so the output is the same byte for byte
  for the same data, no date in the metadata). matplotlib's settings are process-wide and it is
  not thread-safe, so one chart is drawn at a time (`_LOCK`).
- Each chart is an `<svg role="img">` labelled by its own `<title>` and `<desc>`, with every `id`
  prefixed by the chart's id, so several charts can sit in one page. The XML declaration, DOCTYPE
  and namespace declarations are dropped (the HTML parser supplies the SVG namespace), so the page
  names no URL at all.
- Colour is never the only cue: the second series is hatched and dashed with square markers, every
  chart has a legend, short charts carry their values beside the bars. Text is at least 4.5:1 against
  the white background, the marks at least 3:1 (`INK`, `STYLES`, `BAND_EDGE`).
- A value of None is not drawn: the caller passes None for what it withholds (small numbers) or
  does not have, and says so in the caption. This module knows nothing of the report itself.
"""

from __future__ import annotations

import io
import math
import re
import textwrap
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator
from matplotlib.typing import RcKeyType

WIDTH_INCHES = 6.6
"""The charts' width: inside the A4 text width (210 mm less two 18 mm margins, 6.85 in)."""

BACKGROUND = "#ffffff"
INK = "#1a1a1a"  # text: 17:1 on white
AXIS = "#595959"  # axis lines and ticks: 7:1
GRID = "#d0d0d0"  # gridlines are a reading aid, not information

BAND_FILL = "#e3f1e3"
BAND_EDGE = "#2e7d32"  # the band's bounds: 5.1:1 on white
BAND_TEXT = "#1b5e20"  # the band's label, on its fill: 6.7:1


@dataclass(frozen=True)
class Style:
    colour: str
    hatch: str
    marker: str
    linestyle: str


STYLES = (
    Style(colour="#1d4f91", hatch="", marker="o", linestyle="-"),  # solid dark blue: 8.1:1
    Style(colour="#a35200", hatch="///", marker="s", linestyle="--"),  # hatched dark orange: 5.6:1
)
"""The looks of the first and second series: they differ in pattern, marker and line, not only hue."""

RC: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "iro-annual-report",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Verdana", "Arial"],
    "font.size": 9.0,
    "text.color": INK,
    "axes.labelcolor": INK,
    "axes.edgecolor": AXIS,
    "axes.facecolor": BACKGROUND,
    "figure.facecolor": BACKGROUND,
    "xtick.color": AXIS,
    "ytick.color": AXIS,
    "xtick.labelcolor": INK,
    "ytick.labelcolor": INK,
    "hatch.linewidth": 1.2,
    "legend.frameon": False,
}

SVG_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}

_LOCK = threading.Lock()


@dataclass(frozen=True)
class Series:
    """One series of a chart: its legend text and a value per category (None: not drawn)."""

    label: str
    values: tuple[float | None, ...]
    gaps: tuple[str, ...] = ()
    """For a bar chart, the words drawn where a value is None ("withheld"); nothing drawn when empty."""


@dataclass(frozen=True)
class Band:
    """A shaded range on the value axis (the caseload guidance), labelled on the chart and in the legend."""

    lower: float
    upper: float
    label: str
    short: str
    """The words on the band itself, narrow enough to sit between its bounds."""


def bar_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    categories: Sequence[str],
    series: Sequence[Series],
    value_label: str,
    percent: bool = False,
    horizontal: bool = False,
    band: Band | None = None,
) -> str:
    """Grouped bars, one group per category; horizontal bars read top to bottom in category order."""
    with _LOCK, matplotlib.rc_context(RC):
        rows = len(categories)
        height = 3.2  # inches; horizontal bars: a row per category, taller for more series
        if horizontal:
            height = 1.1 + rows * max(0.34, 0.2 * len(series) + 0.12) + (0.3 if band else 0)
        fig = Figure(figsize=(WIDTH_INCHES, height))
        FigureCanvasSVG(fig)
        ax = fig.add_subplot()
        _frame(ax, horizontal=horizontal)
        width = 0.8 / max(len(series), 1)
        label_bars = rows * len(series) <= 16
        drawn: list[float] = []
        for index, one in enumerate(series):
            style = STYLES[index % len(STYLES)]
            spots = [(i, v) for i, v in enumerate(one.values) if v is not None]
            positions = [i - 0.4 + width * (index + 0.5) for i, _ in spots]
            values = [v for _, v in spots]
            drawn.extend(values)
            look = _bar_look(style)
            if horizontal:
                bars = ax.barh(positions, values, height=width, label=one.label, **look)
            else:
                bars = ax.bar(positions, values, width=width, label=one.label, **look)
            if label_bars and values:
                ax.bar_label(bars, labels=[_number(v, percent) for v in values], padding=3, fontsize=8, color=INK)
            for i, gap in enumerate(one.gaps):
                if one.values[i] is None and gap:
                    at = i - 0.4 + width * (index + 0.5)
                    spot, offset = ((0, at), (3, 0)) if horizontal else ((at, 0), (0, 3))
                    ax.annotate(
                        gap, spot, xytext=offset, textcoords="offset points", rotation=0 if horizontal else 90,
                        ha="left" if horizontal else "center", va="center" if horizontal else "bottom",
                        fontsize=8, style="italic", color=INK,
                    )  # fmt: skip
        top = max([*drawn, band.upper if band else 0.0, 1.0])
        limit = 100.0 if percent and top <= 100 else _nice_ceiling(top * (1.15 if label_bars else 1.05))
        value_axis = ax.xaxis if horizontal else ax.yaxis
        if percent:
            value_axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}%"))
        else:
            value_axis.set_major_locator(MaxNLocator(integer=True))
        handles = []
        if horizontal:
            ax.set_xlim(0, limit * (1.08 if percent and label_bars else 1.0))
            ax.set_yticks(range(rows), [textwrap.fill(c, 30) for c in categories])
            ax.set_ylim(rows - 0.5, -0.5 - (0.8 if band else 0))
            ax.set_xlabel(value_label)
            if band:
                ax.axvspan(band.lower, band.upper, facecolor=BAND_FILL, edgecolor="none", zorder=0)
                for bound in (band.lower, band.upper):
                    ax.axvline(bound, color=BAND_EDGE, linestyle=(0, (4, 2)), linewidth=1.2, zorder=1)
                ax.text(
                    (band.lower + band.upper) / 2, -0.5 - 0.4, band.short,
                    ha="center", va="center", fontsize=8, color=BAND_TEXT,
                )  # fmt: skip
                handles.append(Patch(facecolor=BAND_FILL, edgecolor=BAND_EDGE, linestyle="--", label=band.label))
        else:
            ax.set_ylim(0, limit * (1.08 if percent and label_bars else 1.0))
            ax.set_xticks(range(rows), list(categories))
            ax.set_xlim(-0.6, rows - 0.4)
            ax.set_ylabel(value_label)
        _legend(ax, extra=handles)
        fig.tight_layout(pad=0.4)
        return _svg(fig, chart_id=chart_id, title=title, desc=desc)


def line_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    categories: Sequence[str],
    series: Sequence[Series],
    value_label: str,
    percent: bool = True,
) -> str:
    """Lines with markers over the categories (months); a None leaves a gap in its line."""
    with _LOCK, matplotlib.rc_context(RC):
        fig = Figure(figsize=(WIDTH_INCHES, 3.2))
        FigureCanvasSVG(fig)
        ax = fig.add_subplot()
        _frame(ax, horizontal=False)
        for index, one in enumerate(series):
            style = STYLES[index % len(STYLES)]
            values = [math.nan if v is None else v for v in one.values]
            ax.plot(
                range(len(values)), values, label=one.label, color=style.colour, linestyle=style.linestyle,
                linewidth=1.8, marker=style.marker, markersize=5.5,
                markerfacecolor=style.colour if index == 0 else BACKGROUND, markeredgewidth=1.5,
            )  # fmt: skip
        ax.set_xticks(range(len(categories)), list(categories))
        ax.set_xlim(-0.5, len(categories) - 0.5)
        if percent:
            ax.set_ylim(0, 100)
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}%"))
        else:
            ax.set_ylim(bottom=0)
        ax.set_ylabel(value_label)
        _legend(ax)
        fig.tight_layout(pad=0.4)
        return _svg(fig, chart_id=chart_id, title=title, desc=desc)


# --- drawing -------------------------------------------------------------------------------------


def _frame(ax: Axes, *, horizontal: bool) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_axisbelow(True)
    ax.grid(axis="x" if horizontal else "y", color=GRID, linewidth=0.6)


def _bar_look(style: Style) -> dict[str, Any]:
    if style.hatch:
        return {"facecolor": BACKGROUND, "edgecolor": style.colour, "hatch": style.hatch, "linewidth": 1.2}
    return {"facecolor": style.colour, "edgecolor": style.colour, "linewidth": 0.8}


def _legend(ax: Axes, *, extra: Sequence[Patch] = ()) -> None:
    handles, labels = ax.get_legend_handles_labels()
    handles = [*handles, *extra]
    labels = [*labels, *(patch.get_label() for patch in extra)]
    if len(handles) > 1 or extra:
        ax.legend(
            handles, labels, loc="lower left", bbox_to_anchor=(0.0, 1.01), ncols=len(handles),
            borderaxespad=0.0, handlelength=2.4, fontsize=8.5,
        )  # fmt: skip


def _number(value: float, percent: bool) -> str:
    return f"{value:g}%" if percent else f"{value:,.10g}"


def _nice_ceiling(value: float) -> float:
    """The next 1, 2, 2.5 or 5 times a power of ten at or above `value`."""
    power = 10.0 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= value)


# --- the SVG text --------------------------------------------------------------------------------

_PROLOGUE = re.compile(r"\A.*?(?=<svg\b)", re.DOTALL)
_SVG_OPEN = re.compile(r"<svg\b[^>]*>")


def _svg(fig: Figure, *, chart_id: str, title: str, desc: str) -> str:
    out = io.StringIO()
    fig.savefig(out, format="svg", metadata=SVG_METADATA)
    return finish_svg(out.getvalue(), chart_id=chart_id, title=title, desc=desc)


def finish_svg(svg: str, *, chart_id: str, title: str, desc: str) -> str:
    """matplotlib's SVG made ready to inline: no prologue or namespaces, ids prefixed with `chart_id`,
    width from the page (the viewBox keeps the proportions), and labelled by a `<title>` and `<desc>`."""
    svg = _PROLOGUE.sub("", svg, count=1)
    svg = svg.replace('id="', f'id="{chart_id}-').replace("url(#", f"url(#{chart_id}-")
    svg = svg.replace('xlink:href="#', f'href="#{chart_id}-')
    opening = _SVG_OPEN.search(svg)
    if opening is None:
        raise ValueError("matplotlib's output has no <svg> element")
    view_box = re.search(r'viewBox="([^"]*)"', opening.group(0))
    if view_box is None:
        raise ValueError("matplotlib's <svg> has no viewBox")
    head = (
        f'<svg id="{chart_id}" viewBox="{view_box.group(1)}" role="img" '
        f'aria-labelledby="{chart_id}-title" aria-describedby="{chart_id}-desc" class="chart">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>'
    )
    return head + svg[opening.end() :].strip()
