"""The annual report's page (services/gateway/report_page.py): pure rendering of a hand-built dataset.

The small-number rule is pinned on its own functions at the boundaries; the page is then checked
as HTML (no outside resource, accessible structure, every chart labelled and followed by its
table) and in headless Chromium (no request but its own file, no console error, prints to A4)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path

import pytest

from services.gateway import charts, report_page
from services.gateway.report_data import AnnualReport, Median, Rate, Ratio
from services.gateway.report_page import (
    chart_count,
    chart_rate,
    count_text,
    median_text,
    rate_text,
    ratio_text,
    render,
    suppressed,
)
from tests import browser
from tests.gateway import report_fixture

THEMES = [name for name in AnnualReport.model_fields if name not in
          {"period", "previous_period", "generated_at", "records_from", "platform_from"}]  # fmt: skip


# --- the suppression rule ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "text"), [(0, "0"), (1, "fewer than 5"), (4, "fewer than 5"), (5, "5"), (1204, "1,204")]
)
def test_counts_from_1_to_4_read_fewer_than_5_and_0_stays_0(count: int, text: str) -> None:
    assert count_text(count) == text
    assert suppressed(count) is (text == "fewer than 5")


@pytest.mark.parametrize(("count", "text"), [(0, "0"), (1, "fewer than 10"), (9, "fewer than 10"), (10, "10")])
def test_the_threshold_is_a_setting_and_the_words_follow_it(count: int, text: str) -> None:
    assert count_text(count, suppress_below=10) == text


@pytest.mark.parametrize(
    ("numerator", "denominator", "pct", "text"),
    [
        (41, 50, 82.0, "82% (41 of 50)"),
        (0, 50, 0.0, "0% (0 of 50)"),
        (1, 50, 2.0, "withheld"),
        (4, 50, 8.0, "withheld"),
        (5, 50, 10.0, "10% (5 of 50)"),
        (0, 4, 0.0, "withheld"),
        (4, 4, 100.0, "withheld"),
        (5, 5, 100.0, "100% (5 of 5)"),
        (0, 0, None, "not applicable (0 of 0)"),
        (668, 746, 89.5, "89.5% (668 of 746)"),
        (2, 1204, 0.2, "withheld"),
    ],
)
def test_a_percentage_shows_its_parts_and_is_withheld_when_either_is_1_to_4(
    numerator: int, denominator: int, pct: float | None, text: str
) -> None:
    rate = Rate(numerator=numerator, denominator=denominator, pct=pct)
    assert rate_text(rate) == text
    assert chart_rate(rate) == (None if text == "withheld" or pct is None else pct)


def test_a_percentage_is_withheld_below_a_threshold_of_10() -> None:
    assert rate_text(Rate(numerator=9, denominator=40, pct=22.5), suppress_below=10) == "withheld"
    assert rate_text(Rate(numerator=10, denominator=40, pct=25.0), suppress_below=10) == "25% (10 of 40)"
    assert rate_text(Rate(numerator=12, denominator=9, pct=133.3), suppress_below=10) == "withheld"


def test_a_chart_is_given_no_count_from_1_to_4() -> None:
    assert [chart_count(n) for n in (0, 1, 4, 5)] == [0, None, None, 5]
    assert [chart_count(n, suppress_below=10) for n in (0, 9, 10)] == [0, None, 10]


def test_a_median_shows_its_count_and_is_withheld_over_1_to_4_values() -> None:
    assert median_text(Median(median=8.5, count=22)) == "8.5 (median of 22)"
    assert median_text(Median(median=7, count=5), unit=" days") == "7 days (median of 5)"
    assert median_text(Median(median=3, count=4)) == "withheld"
    assert median_text(Median(median=None, count=0)) == "none (median of 0)"
    assert median_text(Median(median=12, count=9), suppress_below=10) == "withheld"


def test_a_ratio_shows_its_parts_and_is_withheld_when_its_count_is_1_to_4() -> None:
    assert ratio_text(Ratio(value=53.9, numerator=178, denominator=3.3)) == "53.9 (178 over 3.3)"
    assert ratio_text(Ratio(value=8.0, numerator=4, denominator=0.5)) == "withheld"
    assert ratio_text(Ratio(value=None, numerator=0, denominator=0.0)) == "not applicable (0 over 0)"


# --- the page as HTML ----------------------------------------------------------------------------


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    text: str = ""

    def walk(self) -> list[Node]:
        return [self, *(n for child in self.children for n in child.walk())]

    def find(self, tag: str) -> list[Node]:
        return [n for n in self.walk() if n.tag == tag]

    def all_text(self) -> str:
        return self.text + "".join(child.all_text() for child in self.children)


class TreeBuilder(HTMLParser):
    VOID = {"meta", "link", "br", "img", "input", "hr", "source", "col", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        while len(self.stack) > 1:
            if self.stack.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(Node("#text", {}, text=data))


def parse(html: str) -> Node:
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def elements(node: Node) -> list[Node]:
    return [c for c in node.children if not c.tag.startswith("#")]


@pytest.fixture(scope="module")
def report() -> AnnualReport:
    return report_fixture.annual_report()


@pytest.fixture(scope="module")
def html(report: AnnualReport) -> str:
    return render(report, authority="Exampleshire County Council")


@pytest.fixture(scope="module")
def tree(html: str) -> Node:
    return parse(html)


def test_the_page_refers_to_no_outside_resource(html: str) -> None:
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert "@import" not in html
    assert not re.search(r"\bsrc\s*=", html)
    assert not re.search(r"url\(\s*['\"]?(?!#)", html), "a CSS or SVG url() to anything but an inline #id"
    hrefs = re.findall(r"\bhref\s*=\s*['\"]([^'\"]*)", html)
    assert hrefs and all(h.startswith("#") for h in hrefs), hrefs


def test_the_page_is_the_same_for_the_same_data(report: AnnualReport, html: str) -> None:
    assert render(report, authority="Exampleshire County Council") == html


def test_the_page_is_english_with_landmarks_and_one_h1_then_headings_in_order(tree: Node) -> None:
    (page,) = tree.find("html")
    assert page.attrs["lang"] == "en-GB"
    body = tree.find("body")[0]
    assert [n.tag for n in elements(body)] == ["header", "nav", "main", "footer"]
    levels = [int(n.tag[1]) for n in tree.walk() if re.fullmatch(r"h[1-6]", n.tag)]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b <= a + 1 for a, b in pairwise(levels)), levels
    assert max(levels) == 3


def test_the_sections_follow_the_dataset_and_the_contents_link_to_each(tree: Node) -> None:
    main = tree.find("main")[0]
    sections = [n for n in elements(main) if n.tag == "section"]
    assert [s.attrs["id"] for s in sections] == ["summary", *THEMES]
    for section in sections:
        headings = [n for n in elements(section) if n.tag == "h2"]
        assert len(headings) == 1 and elements(section)[0] is headings[0]
    links = [a.attrs["href"] for a in tree.find("nav")[0].find("a")]
    assert links == [f"#{s.attrs['id']}" for s in sections]


def test_every_table_has_a_caption_and_scoped_headers(tree: Node) -> None:
    tables = tree.find("table")
    assert len(tables) > 20
    for table in tables:
        assert elements(table)[0].tag == "caption" and elements(table)[0].all_text().strip()
        assert all(th.attrs.get("scope") in {"col", "row"} for th in table.find("th"))
        assert all(elements(row)[0].tag == "th" for row in table.find("tbody")[0].find("tr"))


def test_every_chart_is_a_labelled_image_in_a_figure_followed_by_its_table(tree: Node) -> None:
    figures = tree.find("figure")
    assert len(figures) == 5  # caseload, timeliness by month, participation by age, stage, category
    for figure in figures:
        svg, caption = elements(figure)
        assert (svg.tag, caption.tag) == ("svg", "figcaption")
        assert svg.attrs["role"] == "img"
        title, desc = elements(svg)[:2]
        assert (title.tag, desc.tag) == ("title", "desc")
        assert title.all_text().strip() and desc.all_text().strip()
        assert svg.attrs["aria-labelledby"] == title.attrs["id"]
        assert svg.attrs["aria-describedby"] == desc.attrs["id"]
        assert "viewbox" in svg.attrs and "width" not in svg.attrs  # sized by the page, to the text width
        siblings = elements(_parent_of(tree, figure))
        assert siblings[siblings.index(figure) + 1].tag == "table"
    ids = [n.attrs["id"] for n in tree.walk() if "id" in n.attrs]
    assert len(ids) == len(set(ids)), "ids repeat across the inlined charts"


def _parent_of(tree: Node, child: Node) -> Node:
    return next(n for n in tree.walk() if child in n.children)


def test_every_figure_has_last_years_figure_beside_it_or_says_no_data_never_zero(tree: Node, html: str) -> None:
    feedback = next(n for n in tree.find("section") if n.attrs.get("id") == "feedback")
    first = feedback.find("table")[0]
    assert [th.all_text() for th in first.find("thead")[0].find("th")] == [
        "Measure", "1 Apr 2024 to 31 Mar 2025", "1 Apr 2023 to 31 Mar 2024",
    ]  # fmt: skip
    for row in first.find("tbody")[0].find("tr"):
        assert elements(row)[2].all_text() == "no data (records begin 3 June 2024)"
    text = feedback.all_text()
    assert "This period's figures are counted from 3 June 2024" in text
    staffing = next(n for n in tree.find("section") if n.attrs.get("id") == "staffing").all_text()
    assert "The year earlier's figures are counted from 4 September 2023" in staffing
    summary = next(n for n in tree.find("section") if n.attrs.get("id") == "summary").all_text()
    assert "A year earlier: no data (records begin 3 June 2024)" in summary
    assert "89.5% (668 of 746)" in summary  # reviews held in time, with its parts


def test_small_numbers_are_suppressed_on_the_page_and_in_the_charts(tree: Node, html: str) -> None:
    assert "fewer than 5" in html and "withheld" in html
    record_keeping = next(n for n in tree.find("section") if n.attrs.get("id") == "record_keeping")
    row = next(r for r in record_keeping.find("tr") if "Letter to the child sent on time" in r.all_text())
    assert [elements(row)[1].all_text(), elements(row)[2].all_text()] == ["withheld", "withheld"]
    caseload = tree.find("figure")[0]
    drawn = [t.all_text() for t in caseload.find("svg")[0].find("text")]
    assert "withheld" in drawn  # IRO 4's 4 children on 0.5 FTE: 8 per FTE is not drawn
    assert "8" not in drawn
    assert "withheld and not drawn" in caseload.find("figcaption")[0].all_text()
    for name in report_fixture.IRO_NAMES:
        assert name not in html
    assert "IRO 4" in html


def test_the_threshold_setting_changes_the_page(report: AnnualReport) -> None:
    page = render(report, suppress_below=10)
    assert "fewer than 10" in page and "fewer than 5" not in page
    assert "a count from 1 to 9 reads “fewer than 10”" in page


def test_an_authoritys_template_directory_is_searched_first(report: AnnualReport, tmp_path: Path) -> None:
    (tmp_path / report_page.TEMPLATE).write_text("<p>{{ authority }}: {{ period }}</p>", encoding="utf-8")
    page = render(report, authority="Exampleshire & Co", template_dir=tmp_path)
    assert page == "<p>Exampleshire &amp; Co: 1 April 2024 to 31 March 2025</p>"


def test_a_withheld_bar_is_left_out_of_the_chart() -> None:
    def bars(values: tuple[float | None, ...]) -> int:
        svg = charts.bar_chart(
            chart_id="c", title="t", desc="d", categories=["a", "b", "c"],
            series=[charts.Series("s", values)], value_label="v",
        )  # fmt: skip
        return len(re.findall(r'<g id="c-patch_\d+">', svg))

    assert bars((10, 20, 30)) == bars((10, None, 30)) + 1


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_chart_text_and_marks_meet_wcag_contrast(html: str) -> None:
    text_colours = set(re.findall(r"<text [^>]*fill: (#[0-9a-f]{6})", html))
    assert text_colours
    for colour in text_colours:
        assert _contrast(colour, charts.BACKGROUND) >= 4.5, colour
        assert _contrast(colour, charts.BAND_FILL) >= 4.5, colour
    for mark in [*(style.colour for style in charts.STYLES), charts.BAND_EDGE, charts.AXIS]:
        assert _contrast(mark, charts.BACKGROUND) >= 3, mark
    assert len({(s.hatch, s.marker, s.linestyle) for s in charts.STYLES}) == len(charts.STYLES)


# --- the page in a browser -----------------------------------------------------------------------


def test_the_page_opens_offline_in_chromium_and_prints_to_a4(html: str, tmp_path: Path) -> None:
    path = tmp_path / "annual_report.html"
    path.write_text(html, encoding="utf-8")
    browser.ARTIFACTS.mkdir(exist_ok=True)
    with browser.open_page(path) as (page, console_errors, requests):
        assert console_errors == []
        assert requests == [path.resolve().as_uri()], "the page fetched something"
        charts_drawn = page.locator("figure > svg.chart")
        assert charts_drawn.count() == 5
        for n in range(charts_drawn.count()):
            assert charts_drawn.nth(n).is_visible()
            assert page.locator("figure + table").nth(n).is_visible()
            box = charts_drawn.nth(n).bounding_box()
            assert box is not None and box["width"] > 500 and box["height"] > 150
        page.screenshot(path=str(browser.ARTIFACTS / "annual_report.png"), full_page=True)
        # Laid out as printed, at the A4 text width (210 mm less two 18 mm margins): nothing overflows.
        text_width = round((210 - 2 * 18) / 25.4 * 96)
        page.emulate_media(media="print")
        page.set_viewport_size({"width": text_width, "height": 1000})
        widths = page.eval_on_selector_all("figure > svg.chart", "all => all.map(e => e.getBoundingClientRect().width)")
        assert all(w <= text_width for w in widths), widths
        assert page.evaluate("document.documentElement.scrollWidth") <= text_width
        pdf = page.pdf(path=str(browser.ARTIFACTS / "annual_report.pdf"), format="A4", print_background=True)
        assert requests == [path.resolve().as_uri()]
    pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))
    assert pages >= 1 + len(THEMES), f"each section starts a page: {pages} pages"


def test_a_report_before_any_records_says_no_data_and_draws_no_chart(report: AnnualReport) -> None:
    themes = {name: {"data_from": None, "current": None, "previous": None} for name in THEMES}
    empty = report.model_copy(update={"records_from": None, "platform_from": None, **{
        name: type(getattr(report, name))(**value) for name, value in themes.items()}})  # fmt: skip
    tree = parse(render(empty))
    assert tree.find("figure") == []
    cells = [td.all_text() for td in tree.find("td")]
    assert cells and set(cells) == {"no data (no records yet)"}
    summary = next(n for n in tree.find("section") if n.attrs.get("id") == "summary")
    assert {p.all_text() for p in summary.find("span")} == {"no data"}


def test_a_period_still_running_says_the_day_its_figures_are_to(report: AnnualReport) -> None:
    running = report.model_copy(update={"period": report.period.model_copy(update={"as_of": dt.date(2025, 1, 15)})})
    assert "The period has not ended: its figures are to 15 January 2025." in render(running)
