"""The annual report as one page a Corporate Parenting Panel member can open (IRO Handbook para 7.11,
DESIGN.md 2.6): `render(report)` turns the dataset (`report_data.AnnualReport`) into self-contained HTML.

- Self-contained: inline CSS, inline SVG charts, the system font stack, no script. It opens from an
  email attachment on a laptop with no network, and prints to A4 a section a page.
- Laid out like the annual reports councils publish: headline figures first, then one section per
  theme in the dataset's order, every figure beside the same period a year earlier ("no data" with
  the day the records begin when a period has none, never a zero), every percentage with its
  numerator and denominator, every chart followed by the table of its numbers.
- Published figures protect children: a count from 1 to `suppress_below` - 1 reads "fewer than 5",
  a percentage, median or ratio built on one is "withheld", and a chart leaves it out (the caption
  says so). 0 stays 0. The rule is in the small functions below (`suppressed`, `count_text`,
  `rate_text` ...); the dataset keeps the exact figures. IROs are "IRO 1", "IRO 2" ..., in the
  dataset's order, never named.

Why matplotlib for the charts: maintained, widely known, and it draws static SVG with no script,
byte-identical for the same data once its hash salt and date are fixed (charts.py). A JavaScript
charting library would need a script in the page; a hand-written SVG drawer would be code to keep.
Why Jinja2: the standard Python templating engine (FastAPI documents it), autoescaping, and an
authority can override the template by putting its own `annual_report.html.j2` in a directory
searched first (`template_dir`), without touching this module.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal, TypeVar

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from services.gateway import charts
from services.gateway.report_data import (
    AnnualReport,
    CategoryKind,
    Escalations,
    Median,
    Period,
    Rate,
    Ratio,
    Staffing,
    Theme,
)
from shared import reference

TEMPLATES = Path(__file__).parent / "templates"
TEMPLATE = "annual_report.html.j2"
WITHHELD = "withheld"

T = TypeVar("T")
X = TypeVar("X")


# --- small-number suppression: pure, and the only place the rule lives ----------------------------


def suppressed(count: int, *, suppress_below: int = 5) -> bool:
    """A count from 1 to `suppress_below` - 1 is not published; 0 is."""
    return 0 < count < suppress_below


def fewer_than(suppress_below: int = 5) -> str:
    return f"fewer than {suppress_below}"


def count_text(count: int, *, suppress_below: int = 5) -> str:
    """A count as published: "0", "fewer than 5", "12", "1,204"."""
    return fewer_than(suppress_below) if suppressed(count, suppress_below=suppress_below) else f"{count:,}"


def rate_parts(rate: Rate, *, suppress_below: int = 5) -> tuple[str, str]:
    """A percentage and what it is of: ("82%", "(41 of 50)"); ("withheld", "") when either part is small."""
    if suppressed(rate.numerator, suppress_below=suppress_below) or suppressed(
        rate.denominator, suppress_below=suppress_below
    ):
        return WITHHELD, ""
    if rate.pct is None:
        return "not applicable", f"({rate.numerator:,} of {rate.denominator:,})"
    return f"{rate.pct:g}%", f"({rate.numerator:,} of {rate.denominator:,})"


def rate_text(rate: Rate, *, suppress_below: int = 5) -> str:
    """A percentage as published: "82% (41 of 50)", "withheld", "not applicable (0 of 0)"."""
    return " ".join(part for part in rate_parts(rate, suppress_below=suppress_below) if part)


def chart_rate(rate: Rate, *, suppress_below: int = 5) -> float | None:
    """A percentage a chart may draw, or None (withheld, or nothing to take it of)."""
    if rate_parts(rate, suppress_below=suppress_below)[0] == WITHHELD:
        return None
    return rate.pct


def chart_count(count: int, *, suppress_below: int = 5) -> int | None:
    """A count a chart may draw, or None when it is withheld."""
    return None if suppressed(count, suppress_below=suppress_below) else count


def median_text(median: Median, *, suppress_below: int = 5, unit: str = "") -> str:
    """A median with what it is over: "12 working days (median of 40)"; "withheld" over a small count."""
    if suppressed(median.count, suppress_below=suppress_below):
        return WITHHELD
    if median.median is None:
        return "none (median of 0)"
    return f"{median.median:g}{unit} (median of {median.count:,})"


def ratio_text(ratio: Ratio, *, suppress_below: int = 5) -> str:
    """A ratio with its parts: "58.2 (722 over 12.4)"; "withheld" when its numerator is small."""
    if suppressed(ratio.numerator, suppress_below=suppress_below):
        return WITHHELD
    if ratio.value is None:
        return f"not applicable ({ratio.numerator:,} over 0)"
    return f"{ratio.value:.1f} ({ratio.numerator:,} over {ratio.denominator:g})"


# --- what the template is given ------------------------------------------------------------------

Row = tuple[str, ...]


@dataclass(frozen=True)
class Table:
    caption: str
    head: Row
    rows: tuple[Row, ...]
    """The first cell of each row is its header."""


@dataclass(frozen=True)
class Chart:
    number: int
    svg: Markup
    caption: str
    table: Table


@dataclass(frozen=True)
class Block:
    heading: str | None = None
    notes: tuple[str, ...] = ()
    table: Table | None = None
    chart: Chart | None = None


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    notes: tuple[str, ...]
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Headline:
    label: str
    value: str
    detail: str
    previous: str


# --- rendering -----------------------------------------------------------------------------------


@cache
def environment(template_dir: str | None = None) -> Environment:
    """The Jinja2 environment: an authority's `template_dir` first, then this package's templates."""
    search = [template_dir, str(TEMPLATES)] if template_dir else [str(TEMPLATES)]
    return Environment(
        loader=FileSystemLoader(search),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(
    report: AnnualReport,
    *,
    suppress_below: int = 5,
    authority: str | None = None,
    template_dir: str | Path | None = None,
) -> str:
    """The report as one self-contained HTML page, small numbers suppressed below `suppress_below`."""
    page = _Page(report, suppress_below)
    sections = [build(page) for build in SECTIONS]
    template = environment(str(template_dir) if template_dir else None).get_template(TEMPLATE)
    return template.render(
        authority=authority,
        period=_period_text(report.period),
        previous_period=_period_text(report.previous_period),
        as_of=_date(report.period.as_of) if report.period.as_of < report.period.to else None,
        generated=_date(report.generated_at.date()),
        suppress_below=suppress_below,
        fewer=fewer_than(suppress_below),
        headlines=_headlines(page),
        sections=sections,
    )


class _Page:
    """What every section needs: the report, the threshold, the IROs' public labels, figure numbers."""

    def __init__(self, report: AnnualReport, suppress_below: int) -> None:
        self.report = report
        self.below = suppress_below
        self.iros = _iro_labels(report)
        self.figures = 0
        self.current_head = _period_short(report.period)
        self.previous_head = _period_short(report.previous_period)

    def count(self, count: int) -> str:
        return count_text(count, suppress_below=self.below)

    def rate(self, rate: Rate) -> str:
        return rate_text(rate, suppress_below=self.below)

    def chart(self, svg: str, caption: str, table: Table, series: Sequence[charts.Series]) -> Chart:
        """A drawn chart, numbered; its caption says when it leaves withheld values out."""
        self.figures += 1
        if any(v is None and gap == WITHHELD for one in series for v, gap in zip(one.values, one.gaps, strict=True)):
            caption += f" Values built on counts under {self.below} are withheld and not drawn."
        # Markup: the SVG is matplotlib's, whose text it escapes, with a title and desc finish_svg escapes.
        return Chart(number=self.figures, svg=Markup(svg), caption=caption, table=table)  # noqa: S704

    def chart_id(self) -> str:
        return f"chart-{self.figures + 1}"

    def no_data(self, theme: Theme[T]) -> str:
        if theme.data_from is None:
            return "no data (no records yet)"
        return f"no data (records begin {_date(theme.data_from)})"

    def cell(self, theme: Theme[T], figures: T | None, cell: Callable[[T], str]) -> str:
        """A figure of one period, or "no data" when the period has none."""
        return self.no_data(theme) if figures is None else cell(figures)

    def compare(self, theme: Theme[T], caption: str, rows: Sequence[tuple[str, Callable[[T], str]]]) -> Table:
        """A table of measures, this period beside the year earlier."""
        return Table(
            caption=caption,
            head=("Measure", self.current_head, self.previous_head),
            rows=tuple(
                (label, self.cell(theme, theme.current, cell), self.cell(theme, theme.previous, cell))
                for label, cell in rows
            ),
        )

    def keyed(
        self,
        theme: Theme[T],
        items: Callable[[T], Sequence[X]],
        key: Callable[[X], str],
        cell: Callable[[X], str],
        label: Callable[[str], str],
        missing: str = "0",
    ) -> tuple[Row, ...]:
        """Rows for a list keyed by a code, both periods: a key one period lacks reads `missing` there."""
        sides = [
            None if figures is None else {key(item): item for item in items(figures)}
            for figures in (theme.current, theme.previous)
        ]
        keys = dict.fromkeys(k for side in sides if side for k in side)
        return tuple(
            (
                label(k),
                *(self.no_data(theme) if side is None else cell(side[k]) if k in side else missing for side in sides),
            )
            for k in keys
        )

    def keyed_block(self, heading: str, caption: str, column: str, rows: tuple[Row, ...]) -> Block:
        if not rows:
            return Block(heading=heading, notes=("None recorded in either period.",))
        head = (column, self.current_head, self.previous_head)
        return Block(heading=heading, table=Table(caption=caption, head=head, rows=rows))


def _iro_labels(report: AnnualReport) -> dict[uuid.UUID | None, str]:
    """The IROs' public labels, "IRO 1", "IRO 2" ..., in the order the dataset first lists each."""
    ids: list[uuid.UUID | None] = []
    for theme_ids in (
        [i.iro_id for f in (report.staffing.current, report.staffing.previous) if f for i in f.per_iro],
        [i.iro_id for f in (report.footprint.current, report.footprint.previous) if f for i in f.per_iro],
    ):  # fmt: skip
        ids.extend(i for i in theme_ids if i is not None and i not in ids)
    labels: dict[uuid.UUID | None, str] = {iro: f"IRO {n}" for n, iro in enumerate(ids, start=1)}
    labels[None] = "Not filed under an IRO"
    return labels


def _theme_notes(page: _Page, theme: Theme[T], *extra: str) -> tuple[str, ...]:
    """Where a period's figures start inside it: "counted from <data_from>"."""
    notes: list[str] = []
    start = theme.data_from
    if start is not None:
        for name, period, figures in (
            ("This period's figures are", page.report.period, theme.current),
            ("The year earlier's figures are", page.report.previous_period, theme.previous),
        ):
            if figures is not None and period.from_ < start <= period.to:
                notes.append(f"{name} counted from {_date(start)}, the day the records begin.")
    return (*notes, *extra)


# --- the sections, in the dataset's order ---------------------------------------------------------


def _children(page: _Page) -> Section:
    theme = page.report.children
    table = page.compare(theme, "Children looked after", [
        ("Looked after at the start of the period", lambda f: page.count(f.looked_after_at_start)),
        ("Looked after at the end of the period", lambda f: page.count(f.looked_after_at_end)),
        ("Looked after at any time in the period", lambda f: page.count(f.looked_after_during)),
        ("Started to be looked after (care periods)", lambda f: page.count(f.started)),
        ("Ceased to be looked after (care periods)", lambda f: page.count(f.ceased)),
    ])  # fmt: skip
    return Section("children", "Children looked after", _theme_notes(page, theme), (Block(table=table),))


def _staffing(page: _Page) -> Section:
    theme = page.report.staffing
    table = page.compare(theme, "IROs and their caseloads", [
        # Staff, not children: IRO counts are published exactly (suppression protects children).
        ("IROs", lambda f: str(f.iros)),
        ("Full-time equivalent (FTE)", lambda f: f"{f.fte:g}"),
        ("Children allocated an IRO", lambda f: page.count(f.children_allocated)),
        ("Children looked after with no IRO allocated", lambda f: page.count(f.unallocated)),
        ("Caseload per FTE (children allocated over FTE)",
         lambda f: ratio_text(f.caseload_per_fte, suppress_below=page.below)),
        ("IROs within the guidance (at most the upper bound)",
         lambda f: rate_text(f.within_guidance, suppress_below=1)),
        ("IROs below the band", lambda f: str(f.by_band.get("below", 0))),
        ("IROs within the band", lambda f: str(f.by_band.get("within", 0))),
        ("IROs above the band", lambda f: str(f.by_band.get("above", 0))),
    ])  # fmt: skip
    notes = tuple(
        f"{name} staffing is as it stood on {_date(figures.as_of)}."
        for name, figures in (("This period's", theme.current), ("The year earlier's", theme.previous))
        if figures is not None
    )
    blocks = [Block(table=table)]
    if theme.current is not None and theme.current.per_iro:
        blocks.append(_caseload_chart(page, theme.current))
    return Section("staffing", "Staffing and caseloads", _theme_notes(page, theme, *notes), tuple(blocks))


def _caseload_chart(page: _Page, staffing: Staffing) -> Block:
    lower, upper = staffing.guidance_lower, staffing.guidance_upper
    labels = [page.iros[i.iro_id] for i in staffing.per_iro]
    withheld = [suppressed(i.caseload, suppress_below=page.below) for i in staffing.per_iro]
    series = charts.Series(
        f"Children per FTE, {page.current_head}",
        tuple(None if hide else i.caseload_per_fte for hide, i in zip(withheld, staffing.per_iro, strict=True)),
        gaps=tuple(WITHHELD if hide else "no FTE" for hide in withheld),
    )
    svg = charts.bar_chart(
        chart_id=page.chart_id(),
        title="Caseload per full-time IRO against the guidance",
        desc=f"Horizontal bars, one per IRO, of children allocated per FTE, over a band shaded from {lower} "
        f"to {upper}, the IRO Handbook's suggested caseload. The table after the chart gives the figures.",
        categories=labels,
        series=[series],
        value_label="Children allocated per full-time equivalent IRO",
        horizontal=True,
        band=charts.Band(lower, upper, f"Guidance: {lower} to {upper} per FTE", short=f"{lower} to {upper}"),
    )
    rows = tuple(
        (label, f"{i.fte:g}", page.count(i.caseload), WITHHELD if hide else _one_place(i.caseload_per_fte),
         f"{i.band} the band")
        for label, hide, i in zip(labels, withheld, staffing.per_iro, strict=True)
    )  # fmt: skip
    table = Table(
        caption=f"Caseload per IRO, {_date(staffing.as_of)}",
        head=("IRO", "FTE", "Children allocated", "Per FTE", "Against the guidance"),
        rows=rows,
    )
    caption = (
        f"Children allocated per full-time equivalent, each IRO, on {_date(staffing.as_of)}; "
        f"the shaded band is the guidance of {lower} to {upper}."
    )
    return Block(heading="Caseload per IRO", chart=page.chart(svg, caption, table, [series]))


def _continuity(page: _Page) -> Section:
    theme = page.report.continuity
    table = page.compare(theme, "Continuity of IRO", [
        ("Children looked after throughout the period", lambda f: page.count(f.looked_after_throughout)),
        ("Of them, children who kept one IRO all period", lambda f: page.rate(f.kept_one_iro)),
    ])  # fmt: skip
    return Section("continuity", "Continuity of IRO", _theme_notes(page, theme), (Block(table=table),))


SEQUENCES = {"first": "First reviews", "second": "Second reviews", "subsequent": "Subsequent reviews"}


def _reviews(page: _Page) -> Section:
    theme = page.report.reviews
    table = page.compare(theme, "Reviews held", [
        ("Reviews held (timeliness judged)", lambda f: page.count(f.held)),
        ("Reviews held, not judged", lambda f: page.count(f.not_judged)),
    ])  # fmt: skip
    held = page.keyed(theme, lambda f: f.by_sequence, lambda s: s.sequence, lambda s: page.count(s.held),
                      lambda k: f"{SEQUENCES.get(k, k)} held")  # fmt: skip
    in_time = page.keyed(theme, lambda f: f.by_sequence, lambda s: s.sequence, lambda s: page.rate(s.in_time),
                         lambda k: f"{SEQUENCES.get(k, k)} in time")  # fmt: skip
    table = Table(table.caption, table.head, (*table.rows, *held, *in_time))
    notes = (
        "Reviews not judged are first reviews of care periods that began before the records: "
        "they are held, but their timeliness cannot be judged.",
    )
    return Section("reviews", "Reviews held", _theme_notes(page, theme, *notes), (Block(table=table),))


def _timeliness(page: _Page) -> Section:
    theme = page.report.timeliness
    table = page.compare(theme, "Timeliness of reviews", [
        ("Reviews held in time", lambda f: page.rate(f.reviews_in_time)),
        ("Children whose every review was in time", lambda f: page.rate(f.children_all_in_time)),
        ("Reviews overdue and not yet held", lambda f: page.count(f.overdue_unheld)),
    ])  # fmt: skip
    reasons = reference.labels("late_review_reasons")
    late = page.keyed(theme, lambda f: f.late_by_reason, lambda r: r.reason, lambda r: page.rate(r.share),
                      lambda k: reasons.get(k, _words(k)))  # fmt: skip
    blocks = [
        Block(table=table),
        page.keyed_block("Lateness by reason", "Late reviews by reason, of late reviews held", "Reason", late),
    ]
    current, previous = theme.current, theme.previous
    if current is not None and current.by_month:
        months = current.by_month
        earlier = previous.by_month if previous is not None else []
        before = [earlier[i] if i < len(earlier) else None for i in range(len(months))]
        series = [_rate_series(f"In time, {page.current_head}", [m.in_time for m in months], page.below)]
        if previous is not None:
            rates = [None if m is None else m.in_time for m in before]
            series.append(_rate_series(f"In time, {page.previous_head}", rates, page.below))
        svg = charts.line_chart(
            chart_id=page.chart_id(),
            title="Reviews held in time, by month",
            desc="Lines of the percentage of reviews held in time each month, this period "
            + ("beside the same month a year earlier" if previous is not None else "only")
            + ". The table after the chart gives the figures.",
            categories=[_month_tick(m.month, first=n == 0) for n, m in enumerate(months)],
            series=series,
            value_label="Reviews held in time",
        )
        no_previous = page.no_data(theme)
        rows = tuple(
            (
                _month_name(m.month),
                page.count(m.held),
                page.rate(m.in_time),
                no_previous if previous is None else "" if b is None else page.count(b.held),
                no_previous if previous is None else "" if b is None else page.rate(b.in_time),
            )
            for m, b in zip(months, before, strict=True)
        )
        chart_table = Table(
            caption="Reviews held and held in time, by month",
            head=("Month", "Held", "In time", "Held a year earlier", "In time a year earlier"),
            rows=rows,
        )
        caption = "The percentage of reviews held in time each month" + (
            ", solid line this period, dashed line the year earlier."
            if previous is not None
            else f"; the year earlier has {no_previous}."
        )
        chart = page.chart(svg, caption, chart_table, series)
        blocks.append(Block(heading="By month", chart=chart))
    return Section("timeliness", "Timeliness of reviews", _theme_notes(page, theme), tuple(blocks))


def _record_keeping(page: _Page) -> Section:
    theme = page.report.record_keeping
    table = page.compare(theme, "Record keeping", [
        ("Social worker's report shared on time", lambda f: page.rate(f.sw_report_on_time)),
        ("Review decisions issued on time", lambda f: page.rate(f.decisions_on_time)),
        ("Review record completed on time", lambda f: page.rate(f.record_on_time)),
        ("Letter to the child sent on time", lambda f: page.rate(f.letter_to_child_on_time)),
        ("Letter to the child sent", lambda f: page.rate(f.letter_to_child_sent)),
    ])  # fmt: skip
    return Section("record_keeping", "Record keeping", _theme_notes(page, theme), (Block(table=table),))


def _participation(page: _Page) -> Section:
    theme = page.report.participation
    table = page.compare(theme, "Participation of children in their reviews", [
        ("Reviews held", lambda f: page.count(f.reviews)),
        ("Reviews with no participation code yet", lambda f: page.count(f.uncoded)),
        ("Children aged 4 or over who took part (PN1 to PN6)", lambda f: page.rate(f.aged_4_plus)),
    ])  # fmt: skip
    labels = {c.code: c.label for f in (theme.current, theme.previous) if f for c in f.by_code}
    codes = page.keyed(theme, lambda f: f.by_code, lambda c: c.code, lambda c: page.rate(c.share),
                       lambda k: f"{k}: {labels.get(k, k)}")  # fmt: skip
    blocks = [
        Block(table=table),
        page.keyed_block("By participation code", "Reviews by participation code, of coded reviews", "Code", codes),
    ]
    current, previous = theme.current, theme.previous
    age_note = "Ages are on each review's date."
    if current is not None and current.age_on is not None:
        age_note = f"Ages are on {_date(current.age_on)}."
    if current is not None and current.by_age:
        now = {a.age: a.participated for a in current.by_age}
        then = {a.age: a.participated for a in previous.by_age} if previous is not None else {}
        ages = sorted(now.keys() | then.keys())
        series = [_rate_series(page.current_head, [now.get(a) for a in ages], page.below)]
        if previous is not None:
            series.append(_rate_series(page.previous_head, [then.get(a) for a in ages], page.below))
        svg = charts.bar_chart(
            chart_id=page.chart_id(),
            title="Children who took part in their reviews, by age",
            desc="Bars of the percentage of coded reviews coded PN1 to PN6 at each age, "
            + ("this period (solid) beside the year earlier (hatched)" if previous is not None else "this period")
            + ". The table after the chart gives the figures.",
            categories=[str(a) for a in ages],
            series=series,
            value_label="Took part (PN1 to PN6)",
            percent=True,
        )
        no_previous = page.no_data(theme)
        rows = tuple(
            (
                str(a),
                page.rate(now[a]) if a in now else "none",
                no_previous if previous is None else page.rate(then[a]) if a in then else "none",
            )
            for a in ages
        )
        chart_table = Table(
            caption="Took part (PN1 to PN6), of coded reviews, by age",
            head=("Age", page.current_head, page.previous_head),
            rows=rows,
        )
        caption = f"Children aged 4 or over who took part in their reviews, by age. {age_note}"
        chart = page.chart(svg, caption, chart_table, series)
        blocks.append(Block(heading="By age", chart=chart))
    return Section("participation", "Participation of children", _theme_notes(page, theme, age_note), tuple(blocks))


METHOD_LABELS = {
    "chair": "Chaired by the child",
    "co_chair": "Co-chaired by the child",
    "no": "Not chaired by the child",
}


def _participation_detail(page: _Page) -> Section:
    theme = page.report.participation_detail
    table = page.compare(theme, "How children and parents took part", [
        ("Reviews with a participation record", lambda f: page.count(f.recorded)),
        ("Parents took part (attended or conveyed views)", lambda f: page.rate(f.parents_taking_part)),
        ("An interpreter was used", lambda f: page.rate(f.interpreter_used)),
        ("The child met the IRO before the review", lambda f: page.rate(f.met_iro_before)),
    ])  # fmt: skip
    methods = reference.labels("participation_methods")
    how = page.keyed(theme, lambda f: f.methods, lambda s: s.key, lambda s: page.rate(s.share),
                     lambda k: methods.get(k, _words(k)))  # fmt: skip
    chaired = page.keyed(theme, lambda f: f.chaired_by_child, lambda s: s.key, lambda s: page.rate(s.share),
                         lambda k: METHOD_LABELS.get(k, _words(k)))  # fmt: skip
    blocks = (
        Block(table=table),
        page.keyed_block("Ways of taking part",
                         "Reviews by how the child took part, of reviews with a participation record (one may list "
                         "several)", "How", how),
        page.keyed_block("Who chaired the review", "Reviews by who chaired, of those recorded", "Chair", chaired),
    )  # fmt: skip
    notes = ("A child may take part in more than one way, so the ways can add up to more than 100%.",)
    return Section("participation_detail", "How children took part", _theme_notes(page, theme, *notes), blocks)


def _escalations(page: _Page) -> Section:
    theme = page.report.escalations
    table = page.compare(theme, "Escalations and commendations", [
        ("Informal alerts raised", lambda f: page.count(f.alerts)),
        ("Formal escalations raised", lambda f: page.count(f.formal)),
        ("Alerts later escalated formally", lambda f: page.count(f.escalated_alerts)),
        ("Formal escalations resolved at stage 1, of those resolved", lambda f: page.rate(f.resolved_at_stage_1)),
        ("Working days from raising to resolution (median)",
         lambda f: median_text(f.working_days_to_resolution, suppress_below=page.below)),
        ("Referrals to Cafcass", lambda f: page.count(f.cafcass_referrals)),
        ("Children with more than one escalation", lambda f: page.count(f.children_with_repeat_escalations)),
        ("Commendations of good practice", lambda f: page.count(f.commendations)),
    ])  # fmt: skip
    notes: list[str] = []
    current, previous = theme.current, theme.previous
    if current is not None:
        notes.append(
            f"Escalations open and overdue on {_date(current.overdue_as_of)}, whatever the period: "
            f"{page.count(current.overdue_now)}."
        )
    blocks = [Block(table=table)]
    if current is not None and current.by_stage_reached:
        blocks.append(_stage_chart(page, theme, current, previous))
    if current is not None and current.by_category:
        blocks.append(_category_chart(page, theme, current, previous))
    teams = page.keyed(theme, lambda f: f.by_team, lambda t: t.team, lambda t: page.count(t.count), lambda k: k)
    blocks.append(page.keyed_block("By team", "Alerts and formal escalations by team", "Team", teams))
    return Section("escalations", "Escalations and commendations", _theme_notes(page, theme, *notes), tuple(blocks))


def _stage_chart(page: _Page, theme: Theme[Escalations], current: Escalations, previous: Escalations | None) -> Block:
    names = {s.stage: s.name for f in (current, previous) if f for s in f.by_stage_reached}
    stages = sorted(names)
    now = {s.stage: s.count for s in current.by_stage_reached}
    then = {s.stage: s.count for s in previous.by_stage_reached} if previous is not None else {}
    labels = [_stage(n, names[n]) for n in stages]
    series = [_count_series(page.current_head, [now.get(n, 0) for n in stages], page.below)]
    if previous is not None:
        series.append(_count_series(page.previous_head, [then.get(n, 0) for n in stages], page.below))
    svg = charts.bar_chart(
        chart_id=page.chart_id(),
        title="Escalations by the stage they reached",
        desc="Horizontal bars of the number of escalations whose highest stage was each stage of the ladder, "
        + ("this period (solid) beside the year earlier (hatched)" if previous is not None else "this period")
        + ". The table after the chart gives the figures.",
        categories=labels,
        series=series,
        value_label="Escalations",
        horizontal=True,
    )
    no_previous = page.no_data(theme)
    rows = tuple(
        (label, page.count(now.get(n, 0)), no_previous if previous is None else page.count(then.get(n, 0)))
        for label, n in zip(labels, stages, strict=True)
    )
    table = Table("Escalations by the stage reached", ("Stage", page.current_head, page.previous_head), rows)
    caption = "Escalations by the highest stage each reached."
    return Block(heading="By stage reached", chart=page.chart(svg, caption, table, series))


def _category_chart(
    page: _Page, theme: Theme[Escalations], current: Escalations, previous: Escalations | None
) -> Block:
    names = reference.labels("escalation_categories")
    now = {c.category: c for c in current.by_category}
    then = {c.category: c for c in previous.by_category} if previous is not None else {}
    keys = list(dict.fromkeys([*now, *then]))
    labels = [names.get(k, _words(k)) for k in keys]
    series = [
        _count_series("Informal alerts", [now[k].alerts if k in now else 0 for k in keys], page.below),
        _count_series("Formal escalations", [now[k].formal if k in now else 0 for k in keys], page.below),
    ]
    svg = charts.bar_chart(
        chart_id=page.chart_id(),
        title="Alerts and formal escalations by category",
        desc=f"Horizontal bars, {page.current_head}: for each category, the informal alerts (solid) and "
        "the formal escalations (hatched). The table after the chart gives the figures, with the year earlier.",
        categories=labels,
        series=series,
        value_label="Alerts and escalations raised",
        horizontal=True,
    )
    no_previous = page.no_data(theme)

    earlier = then if previous is not None else None

    def cell(side: dict[str, CategoryKind] | None, key: str, kind: Literal["alerts", "formal"]) -> str:
        if side is None:
            return no_previous
        return page.count(getattr(side[key], kind)) if key in side else "0"

    rows = tuple(
        (label, cell(now, k, "alerts"), cell(now, k, "formal"), cell(earlier, k, "alerts"), cell(earlier, k, "formal"))
        for label, k in zip(labels, keys, strict=True)
    )
    table = Table(
        "Alerts and formal escalations by category",
        ("Category", "Alerts", "Formal", "Alerts a year earlier", "Formal a year earlier"),
        rows,
    )
    caption = f"Alerts and formal escalations raised in {page.current_head}, by category."
    return Block(heading="By category", chart=page.chart(svg, caption, table, series))


def _footprint(page: _Page) -> Section:
    theme = page.report.footprint
    table = page.compare(theme, "Midway reviews, case notes and the footprint", [
        ("Midway reviews", lambda f: page.count(f.midway_reviews)),
        ("Case notes", lambda f: page.count(f.case_notes)),
        ("Events on the footprint that occurred in the period", lambda f: page.count(f.events_recorded)),
    ])  # fmt: skip
    blocks = [Block(table=table)]
    current = theme.current
    if current is not None and current.per_iro:
        head = ("IRO", *(_month_tick(m, first=False) for m in current.months))
        for heading, kind in (("Midway reviews per IRO per month", "midway_reviews"),
                              ("Case notes per IRO per month", "case_notes")):  # fmt: skip
            rows = tuple((page.iros[i.iro_id], *(page.count(n) for n in getattr(i, kind))) for i in current.per_iro)
            blocks.append(Block(heading=heading, table=Table(f"{heading}, {page.current_head}", head, rows)))
    notes = ("IROs are numbered, not named, in this published report; the numbers are the same in every section.",)
    return Section("footprint", "Midway reviews and case notes", _theme_notes(page, theme, *notes), tuple(blocks))


def _feedback(page: _Page) -> Section:
    theme = page.report.feedback
    table = page.compare(theme, "Feedback forms", [
        ("Feedback forms received", lambda f: page.count(f.forms)),
        ("Of them, anonymous", lambda f: page.count(f.anonymous)),
    ])  # fmt: skip
    respondents = reference.labels("feedback_respondents")
    who = page.keyed(theme, lambda f: f.by_respondent, lambda s: s.key, lambda s: page.rate(s.share),
                     lambda k: respondents.get(k, _words(k)))  # fmt: skip
    blocks = [Block(table=table), page.keyed_block("Who gave feedback", "Forms by respondent", "Respondent", who)]
    texts = {q.key: q.text or _words(q.key) for f in (theme.current, theme.previous) if f for q in f.questions}
    for key, text in texts.items():
        answers = page.keyed(
            theme,
            lambda f, key=key: next((q.answers for q in f.questions if q.key == key), []),  # type: ignore[misc]
            lambda s: s.key,
            lambda s: page.rate(s.share),
            _words,
        )
        blocks.append(page.keyed_block(f"“{text}”", f"Answers to “{text}”", "Answer", answers))
    return Section("feedback", "Feedback", _theme_notes(page, theme), tuple(blocks))


def _advocacy(page: _Page) -> Section:
    theme = page.report.advocacy
    table = page.compare(theme, "Advocacy referrals", [("Referrals to advocacy", lambda f: page.count(f.referrals))])
    blocks = [Block(table=table)]
    current, previous = theme.current, theme.previous
    if current is not None and current.by_quarter:
        earlier = previous.by_quarter if previous is not None else []
        no_previous = page.no_data(theme)
        rows = tuple(
            (
                f"{q.quarter} ({_short(q.from_)} to {_short(q.to)})",
                page.count(q.referrals),
                no_previous if previous is None else page.count(earlier[n].referrals) if n < len(earlier) else "",
            )
            for n, q in enumerate(current.by_quarter)
        )
        quarters = Table("Advocacy referrals by quarter", ("Quarter", page.current_head, page.previous_head), rows)
        blocks.append(Block(heading="By quarter", table=quarters))
    return Section("advocacy", "Advocacy", _theme_notes(page, theme), tuple(blocks))


SECTIONS: tuple[Callable[[_Page], Section], ...] = (
    _children,
    _staffing,
    _continuity,
    _reviews,
    _timeliness,
    _record_keeping,
    _participation,
    _participation_detail,
    _escalations,
    _footprint,
    _feedback,
    _advocacy,
)


# --- the headline figures ------------------------------------------------------------------------


def _headlines(page: _Page) -> tuple[Headline, ...]:
    r, below = page.report, page.below

    def rate(value: Rate) -> tuple[str, str]:
        return rate_parts(value, suppress_below=below)

    def headline(label: str, theme: Theme[T], parts: Callable[[T], tuple[str, str]]) -> Headline:
        now = ("no data", page.no_data(theme).removeprefix("no data ")) if theme.current is None else parts(
            theme.current)  # fmt: skip
        then = page.no_data(theme) if theme.previous is None else " ".join(p for p in parts(theme.previous) if p)
        return Headline(label=label, value=now[0], detail=now[1], previous=f"A year earlier: {then}")

    return (
        headline("Children looked after", r.children,
                 lambda f: (page.count(f.looked_after_at_end), "at the end of the period")),
        headline("IROs and caseload per FTE", r.staffing, lambda f: _caseload_parts(f, below)),
        headline("Reviews held", r.reviews, lambda f: (page.count(f.held), "")),
        headline("Reviews held in time", r.timeliness, lambda f: rate(f.reviews_in_time)),
        headline("Participation of children aged 4 or over", r.participation, lambda f: rate(f.aged_4_plus)),
        headline("Escalations", r.escalations, lambda f: (
            page.count(f.formal), f"formal escalations and {page.count(f.alerts)} informal alerts")),
        headline("Feedback forms", r.feedback,
                 lambda f: (page.count(f.forms), f"forms, {page.count(f.anonymous)} of them anonymous")),
    )  # fmt: skip


def _caseload_parts(staffing: Staffing, below: int) -> tuple[str, str]:
    ratio, iros = staffing.caseload_per_fte, staffing.iros  # staff, published exactly
    if suppressed(ratio.numerator, suppress_below=below):
        return WITHHELD, f"children per FTE; {iros} IROs"
    return _one_place(ratio.value), f"children per FTE ({ratio.numerator:,} over {ratio.denominator:g}); {iros} IROs"


# --- words ---------------------------------------------------------------------------------------


def _date(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def _short(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


def _period_text(period: Period) -> str:
    return f"{_date(period.from_)} to {_date(period.to)}"


def _period_short(period: Period) -> str:
    return f"{_short(period.from_)} to {_short(period.to)}"


def _month_name(month: str) -> str:
    return f"{dt.date.fromisoformat(month + '-01'):%B %Y}"


def _month_tick(month: str, *, first: bool) -> str:
    day = dt.date.fromisoformat(month + "-01")
    return f"{day:%b}\n{day:%Y}" if first or day.month == 1 else f"{day:%b}"


def _words(key: str) -> str:
    return key.replace("_", " ").capitalize()


def _stage(number: int, name: str | None) -> str:
    if number == 0:
        return name or "Informal alert"
    return f"Stage {number}: {name}" if name else f"Stage {number}"


def _one_place(value: float | None) -> str:
    return "not applicable" if value is None else f"{value:.1f}"


def _rate_series(label: str, rates: Sequence[Rate | None], below: int) -> charts.Series:
    """Percentages for a chart; a gap reads "withheld", or "none" where there is nothing to take one of."""
    values = tuple(None if r is None else chart_rate(r, suppress_below=below) for r in rates)
    gaps = tuple(
        WITHHELD if r is not None and rate_parts(r, suppress_below=below)[0] == WITHHELD else "none" for r in rates
    )
    return charts.Series(label, values, gaps=gaps)


def _count_series(label: str, counts: Sequence[int], below: int) -> charts.Series:
    values = tuple(chart_count(n, suppress_below=below) for n in counts)
    return charts.Series(label, values, gaps=tuple(WITHHELD for _ in counts))
