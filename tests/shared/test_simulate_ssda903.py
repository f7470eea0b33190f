"""`iro simulate --ssda903-dir`: the simulated world's SSDA903 returns and the world as a platform
rebuilds it from them (shared/simulate/ssda903.py). Pure and fast: no database, no network. The
import over TCP is tests/e2e/test_simulate_ssda903.py."""

import csv
import datetime as dt
import itertools
import json
from pathlib import Path

import pytest

from shared import cli, reference
from shared.calendar import WorkingCalendar
from shared.simulate import Options, World, expected, generate, ssda903
from shared.simulate import timetable as tt
from shared.simulate.world import CarePeriod, Child, Iro, Review
from shared.ssda903 import tables
from shared.ssda903.reader import TableReader

D = dt.date
TODAY = D(2026, 4, 1)  # the world is exactly the collection years 2024, 2025 and 2026


@pytest.fixture(scope="module")
def world() -> World:
    return generate(Options(children=200, iros=6, years=3, seed=903, today=TODAY))


@pytest.fixture(scope="module")
def made(world: World) -> list[ssda903.Return]:
    return ssda903.returns(world)


def parse(text: str) -> dt.date | None:
    return dt.datetime.strptime(text, "%d/%m/%Y").date() if text else None


def read(folder: Path, table: str) -> list[dict[str, str]]:
    with (folder / ssda903.FILES[table]).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# --- The files -----------------------------------------------------------------------------------------


def test_the_columns_are_the_dfes_in_their_order_and_the_platforms_reader_knows_them():
    assert ssda903.COLUMNS["header"] == tables.HEADER.columns
    assert ssda903.COLUMNS["episodes"] == tables.EPISODES.columns
    assert ssda903.COLUMNS["reviews"] == tables.REVIEWS.columns


def test_the_files_are_csv_with_the_columns_and_dates_dd_mm_yyyy(made, tmp_path):
    one = made[1]
    paths = one.write(tmp_path)
    for table, path in paths.items():
        text = path.read_text(encoding="utf-8")
        assert text.splitlines()[0] == ",".join(ssda903.COLUMNS[table])
        assert "\r" not in text and text.endswith("\n")
        assert read(tmp_path, table) == one.rows[table]
    for row in one.rows["episodes"]:
        for column in ("DECOM", "DEC"):
            assert row[column] == "" or (len(row[column]) == 10 and parse(row[column]) is not None)
    assert {parse(row["DOB"]) for row in one.rows["header"]} and all(row["SEX"] in "12" for row in one.rows["header"])
    one.write(tmp_path / "crlf", line_ending="\r\n")
    assert (tmp_path / "crlf" / "reviews.csv").read_bytes() == paths["reviews"].read_bytes().replace(b"\n", b"\r\n")


def test_the_platforms_reader_takes_every_row_of_every_file(made, tmp_path):
    for one in made:
        for table, path in one.write(tmp_path / str(one.year)).items():
            reader = TableReader(table, path.name)
            rows = reader.feed(path.read_bytes()) + reader.close()
            assert [row.problem for row in rows] == [None] * len(one.rows[table])
            assert [row.values["CHILD"] for row in rows] == [row["CHILD"] for row in one.rows[table]]


def test_the_unused_columns_hold_plausible_fakes(made):
    header = made[-1].rows["header"]
    ethnic = {row["ETHNIC"] for row in header}
    assert "WBRI" in ethnic and ethnic <= {code for code, _ in ssda903.ETHNICITIES}
    for row in header:
        upn = row["UPN"]
        assert len(upn) == 13 and upn[1:4] == ssda903.FAKE_LA and upn[1:].isdigit()
        assert upn[0] == ssda903.UPN_CHECK[sum(int(d) * w for d, w in zip(upn[1:], range(2, 14), strict=True)) % 23]
        assert row["MOTHER"] == ("0" if row["SEX"] == "2" else "") and row["MC_DOB"] == ""
    for row in made[-1].rows["episodes"]:
        assert row["CIN"] in {code for code, _ in ssda903.NEEDS} and row["HOME_POST"].startswith("ZZ99 ")
        assert row["PLACE_PROVIDER"] in {"PR0", "PR1", "PR2", "PR3", "PR4"}
        assert row["URN"] == "XXXXXXX" or (row["URN"].startswith("SC") and len(row["URN"]) == 8)
        assert (row["REASON_PLACE_CHANGE"] != "") == (row["RNE"] in ("P", "B"))


# --- Episodes: one per placement and legal status spell ---------------------------------------------


def a_period() -> CarePeriod:
    return CarePeriod(
        D(2023, 6, 10), "C1", "U4", False, D(2024, 10, 15), "E4A",
        legal_status_changes=[(D(2023, 9, 1), "C2")],
        placement_changes=[(D(2023, 9, 1), "U6", True), (D(2024, 2, 1), "K2", False)],
    )  # fmt: skip


def test_a_new_episode_at_each_change_of_placement_or_legal_status_x1_between_them():
    assert ssda903.spells(a_period()) == [
        ssda903.Episode(D(2023, 6, 10), "S", "C1", "U4", D(2023, 9, 1), "X1"),
        ssda903.Episode(D(2023, 9, 1), "B", "C2", "U6", D(2024, 2, 1), "X1", unplanned=True),
        ssda903.Episode(D(2024, 2, 1), "P", "C2", "K2", D(2024, 10, 15), "E4A"),
    ]
    only_status = CarePeriod(D(2024, 1, 5), "L1", "U6", False, legal_status_changes=[(D(2024, 1, 9), "V2")])
    assert [(e.rne, e.legal_status, e.dec, e.rec) for e in ssda903.spells(only_status)] == [
        ("S", "L1", D(2024, 1, 9), "X1"),
        ("L", "V2", None, None),
    ]


def test_every_period_of_the_world_as_episodes(world):
    for child in world.children:
        for period in child.periods:
            episodes = ssda903.spells(period)
            changes = {d for d, _ in period.legal_status_changes} | {d for d, _, _ in period.placement_changes}
            assert len(episodes) == 1 + len(changes) and episodes[0].rne == "S"
            assert (episodes[0].legal_status, episodes[0].placement) == (period.legal_status, period.placement_type)
            for this, following in itertools.pairwise(episodes):
                assert (this.dec, this.rec) == (following.decom, "X1")
            assert (episodes[-1].dec, episodes[-1].rec) == (period.ended_on, period.reason)
            if period.placement_changes:
                assert episodes[-1].placement == period.placement_changes[-1][1] or any(
                    e.decom > period.placement_changes[-1][0] for e in episodes
                )
            for episode in episodes:  # placements in use on their day, as the platform checks
                assert episode.placement in reference.placement_types_on(episode.decom)


def test_a_return_holds_the_periods_of_its_year_whole_or_from_the_episode_open_on_1_april():
    child = Child(0, "A", D(2012, 1, 1), D(2012, 1, 1), "Sam", "female", None, D(2023, 6, 10), [a_period()])
    world = a_world(child)
    whole = ssda903.make_return(world, 2025)
    assert [(r["DECOM"], r["RNE"], r["DEC"], r["REC"]) for r in whole.rows["episodes"]] == [
        ("10/06/2023", "S", "01/09/2023", "X1"),
        ("01/09/2023", "B", "01/02/2024", "X1"),
        ("01/02/2024", "P", "15/10/2024", "E4A"),
    ]
    in_year = ssda903.make_return(world, 2025, history="year")
    assert [(r["DECOM"], r["RNE"]) for r in in_year.rows["episodes"]] == [("01/02/2024", "P")]
    as_at_its_end = ssda903.make_return(world, 2024)  # the last episode still open on 31 March 2024
    assert [(r["DECOM"], r["DEC"], r["REC"]) for r in as_at_its_end.rows["episodes"]][-1] == ("01/02/2024", "", "")
    assert ssda903.make_return(world, 2026).rows == {"header": [], "episodes": [], "reviews": []}
    with pytest.raises(ValueError, match="does not meet the world"):
        ssda903.make_return(world, 2030)


def test_a_return_holds_every_child_looked_after_in_its_year_and_nothing_after_it(world, made):
    for one in made:
        looked_after = {c.la_reference for c in world.children if ssda903.periods_in_year(c, one.start, one.cut)}
        assert [row["CHILD"] for row in one.rows["header"]] == sorted(looked_after)
        assert {row["CHILD"] for row in one.rows["episodes"]} == looked_after
        for row in one.rows["episodes"]:
            decom, dec = parse(row["DECOM"]), parse(row["DEC"])
            assert decom is not None and decom <= one.cut and (dec is None or decom <= dec <= one.cut)
            assert (dec is None) == (row["REC"] == "")
        for child in {row["CHILD"] for row in one.rows["episodes"]}:  # every period whole, from its S
            rnes = [row["RNE"] for row in one.rows["episodes"] if row["CHILD"] == child]
            assert rnes[0] == "S"


def test_a_return_holds_the_reviews_of_its_year_only_with_their_codes(world, made):
    by_ref = {child.la_reference: child for child in world.children}
    for one in made:
        held = {
            (child.la_reference, review.held_on): review
            for child in world.children
            for review in child.reviews()
            if review.held_on is not None and one.start <= review.held_on <= one.cut
        }
        assert len(one.rows["reviews"]) == len(held)
        for row in one.rows["reviews"]:
            review = held[(row["CHILD"], parse(row["REVIEW"]))]
            assert row["REVIEW_CODE"] == (review.code or "")
            assert parse(row["DOB"]) == by_ref[row["CHILD"]].date_of_birth
    codes = {row["REVIEW_CODE"] for one in made for row in one.rows["reviews"]}
    assert "" in codes and "PN0" in codes and "PN1" in codes


def test_the_same_seed_writes_the_same_bytes_and_a_child_reads_the_same_every_year(world, made, tmp_path):
    again = ssda903.returns(generate(Options(children=200, iros=6, years=3, seed=903, today=TODAY)))
    for first, second in zip(made, again, strict=True):
        a, b = first.write(tmp_path / "a" / str(first.year)), second.write(tmp_path / "b" / str(second.year))
        assert all(a[table].read_bytes() == b[table].read_bytes() for table in a)
    headers: dict[str, dict[str, str]] = {}
    episodes: dict[tuple[str, str], dict[str, str]] = {}
    for one in made:
        for row in one.rows["header"]:
            assert headers.setdefault(row["CHILD"], row) == row
        for row in one.rows["episodes"]:
            key = (row["CHILD"], row["DECOM"])
            before = episodes.setdefault(key, row)
            assert {k: v for k, v in before.items() if k not in ("DEC", "REC")} == {
                k: v for k, v in row.items() if k not in ("DEC", "REC")
            }
            episodes[key] = row
    other = ssda903.returns(generate(Options(children=200, iros=6, years=3, seed=904, today=TODAY)))
    assert other[0].rows != made[0].rows


def test_repeats_count_what_an_earlier_return_already_said(made):
    counts = ssda903.repeats(made)
    assert counts[0] == {"header": 0, "episodes": 0, "reviews": 0}
    for one, before, repeated in zip(made[1:], made, counts[1:], strict=False):
        children_before = {row["CHILD"] for row in before.rows["header"]}
        assert repeated["header"] == sum(row["CHILD"] in children_before for row in one.rows["header"]) > 0
        assert 0 < repeated["episodes"] < len(one.rows["episodes"]) and repeated["reviews"] == 0


# --- The world as imported ----------------------------------------------------------------------------


def a_world(*children: Child, today: dt.date = D(2025, 5, 1)) -> World:
    options = Options(children=len(children), iros=1, years=3, seed=0, today=today)
    return World(options=options, iros=[Iro("iro001", "A B", "a@b.gov.uk", fte=1)], children=list(children))  # type: ignore[arg-type]


def reviewed_child() -> Child:
    first_due = tt.first_review_due(WorkingCalendar(), D(2023, 6, 10), short_break=False)
    period = a_period()
    period.reviews = [
        Review(1, first_due, held_on=D(2023, 7, 3), code="PN1", code_via="event"),
        Review(2, D(2023, 10, 3), held_on=D(2023, 9, 28), code="PN6", code_via="api"),
        Review(3, D(2024, 3, 28), held_on=D(2024, 4, 2), late_reason="iro_unavailable"),
        Review(4, D(2024, 10, 2), held_on=D(2024, 9, 10), code="PN7", code_via="event"),
        Review(5, D(2025, 3, 10), closed="cancelled", closed_on=D(2024, 10, 15)),
    ]
    return Child(0, "A", D(2012, 1, 1), D(2012, 1, 1), "Sam", "female", None, D(2023, 6, 10), [period])


def timetable(world: World) -> list[tuple[object, ...]]:
    return [
        (r.sequence, r.statutory_due_on, r.held_on, r.in_time, r.judged, r.late_reason, r.code, r.closed)
        for child in world.children
        for r in child.reviews()
    ]


def test_imported_from_the_first_year_the_timetable_is_the_worlds_and_a_late_review_not_recorded():
    world = a_world(reviewed_child())
    rebuilt = ssda903.imported(world, [2024, 2025])
    assert rebuilt.refusals == [] and rebuilt.world.children[0].periods[0].started_before_data is False
    assert timetable(rebuilt.world) == [
        (1, D(2023, 7, 7), D(2023, 7, 3), True, True, None, "PN1", None),
        (2, D(2023, 10, 3), D(2023, 9, 28), True, True, None, "PN6", None),
        (3, D(2024, 3, 28), D(2024, 4, 2), False, True, "not_recorded", None, None),
        (4, D(2024, 10, 2), D(2024, 9, 10), True, True, None, "PN7", None),
        (5, D(2025, 3, 10), None, None, True, None, None, "cancelled"),
    ]


def test_a_period_whose_s_no_return_shows_began_before_the_data_its_first_review_not_judged():
    world = a_world(reviewed_child())
    rebuilt = ssda903.imported(world, [2025], history="year")
    period = rebuilt.world.children[0].periods[0]
    assert (period.started_on, period.started_before_data, period.ended_on) == (D(2024, 2, 1), True, D(2024, 10, 15))
    due = tt.first_review_due(WorkingCalendar(), D(2024, 2, 1), short_break=False)
    assert timetable(rebuilt.world) == [
        (1, due, D(2024, 4, 2), None, False, None, None, None),
        (2, D(2024, 10, 2), D(2024, 9, 10), True, True, None, "PN7", None),  # within 6 months: not a "second"
        (3, D(2025, 3, 10), None, None, True, None, None, "cancelled"),
    ]
    year = expected.timeliness(rebuilt.world, D(2024, 4, 1), D(2025, 3, 31))
    assert (year["not_judged"], year["reviews_held"], year["held_in_time"], year["late_by_reason"]) == (1, 1, 1, {})


def test_a_period_whose_s_is_before_the_year_of_the_return_that_creates_it_began_before_the_data():
    """The 2025 return (periods whole) holds the period from its S of 10 June 2023 but only the
    reviews of 2024-25: its earlier reviews are not in the data, so it too began before the data."""
    rebuilt = ssda903.imported(a_world(reviewed_child()), [2025])
    period = rebuilt.world.children[0].periods[0]
    assert (period.started_on, period.started_before_data, period.ended_on) == (D(2023, 6, 10), True, D(2024, 10, 15))
    assert [(r.sequence, r.statutory_due_on, r.held_on, r.judged, r.in_time) for r in period.reviews] == [
        (1, tt.first_review_due(WorkingCalendar(), D(2023, 6, 10), short_break=False), D(2024, 4, 2), False, None),
        (2, D(2024, 10, 2), D(2024, 9, 10), True, True),
        (3, D(2025, 3, 10), None, True, None),
    ]
    year_history = ssda903.imported(a_world(reviewed_child()), [2025], history="year")
    assert expected.figures(rebuilt.world)["periods"] == expected.figures(year_history.world)["periods"]


def test_an_s_on_the_first_day_of_the_year_is_in_the_data():
    child = reviewed_child()
    period = child.periods[0]
    period.started_on, period.legal_status_changes, period.placement_changes = D(2024, 4, 1), [], []
    period.reviews = [Review(1, D(2024, 4, 29), held_on=D(2024, 4, 20)), Review(2, D(2024, 7, 20))]
    period.ended_on = None
    rebuilt = ssda903.imported(a_world(child), [2025])
    assert rebuilt.world.children[0].periods[0].started_before_data is False
    first = rebuilt.world.children[0].reviews()[0]
    assert (first.held_on, first.judged, first.in_time) == (D(2024, 4, 20), True, True)


def long_stay() -> Child:
    """A child in care from May 2023 to the end of the world (1 May 2026), moved in January 2024 and
    reviewed a week early throughout."""
    period = CarePeriod(D(2023, 5, 2), "C2", "U4", False, placement_changes=[(D(2024, 1, 8), "K2", False)])
    due_and_held = [
        (D(2023, 6, 1), D(2023, 5, 25)), (D(2023, 8, 25), D(2023, 8, 18)), (D(2024, 2, 18), D(2024, 2, 11)),
        (D(2024, 8, 11), D(2024, 8, 4)), (D(2025, 2, 4), D(2025, 1, 28)), (D(2025, 7, 28), D(2025, 7, 21)),
        (D(2026, 1, 21), D(2026, 1, 14)), (D(2026, 7, 14), None),
    ]  # fmt: skip
    period.reviews = [Review(n, due, held_on=held) for n, (due, held) in enumerate(due_and_held, start=1)]
    return Child(0, "A", D(2012, 1, 1), D(2012, 1, 1), "Sam", "female", None, D(2023, 5, 2), [period])


@pytest.mark.parametrize(("history", "started_on", "repeated"), [
    ("period", D(2023, 5, 2), [0, 2, 2]),  # its S, before the year of the return that created it
    ("year", D(2024, 1, 8), [0, 1, 1]),  # the episode open on 1 April 2024 (RNE P)
])  # fmt: skip
def test_later_returns_carry_on_the_period_the_first_one_created(history, started_on, repeated):
    """Imported from 2025, the period began before the data; the 2026 and 2027 returns show it again
    (from its S, or from the episode open all along, RNE P, the child's first in the file): they carry
    it on, they do not begin it again, and the rows they repeat are the ones the 2025 return gave."""
    world = a_world(long_stay(), today=D(2026, 5, 2))
    rebuilt = ssda903.imported(world, [2025, 2026, 2027], history=history)
    [period] = rebuilt.world.children[0].periods
    assert (period.started_on, period.started_before_data, period.ended_on) == (started_on, True, None)
    assert [(r.sequence, r.statutory_due_on, r.held_on, r.judged, r.in_time) for r in period.reviews] == [
        (1, tt.first_review_due(WorkingCalendar(), started_on, short_break=False), D(2024, 8, 4), False, None),
        (2, D(2025, 2, 4), D(2025, 1, 28), True, True),  # 6 months after the one not judged
        (3, D(2025, 7, 28), D(2025, 7, 21), True, True),
        (4, D(2026, 1, 21), D(2026, 1, 14), True, True),
        (5, D(2026, 7, 14), None, True, None),
    ]
    made = ssda903.returns(world, [2025, 2026, 2027], history=history)
    assert [counts["episodes"] for counts in ssda903.repeats(made)] == repeated
    assert [len(one.rows["episodes"]) for one in made] == [repeated[1]] * 3


def test_the_figures_are_for_consecutive_years_only(world):
    with pytest.raises(ValueError, match="leave out 2025"):
        ssda903.imported(world, [2024, 2026])
    with pytest.raises(ValueError, match="leave out 2025"):
        ssda903.figures(world, [2026, 2024], history="year")


def test_a_period_ends_only_when_a_return_shows_its_end_and_unheld_reviews_are_overdue():
    rebuilt = ssda903.imported(a_world(reviewed_child()), [2024])
    period = rebuilt.world.children[0].periods[0]
    assert period.ended_on is None and [r.held_on for r in period.reviews] == [D(2023, 7, 3), D(2023, 9, 28), None]
    assert expected.timeliness(rebuilt.world, D(2023, 4, 1), D(2024, 3, 31))["overdue_unheld"] == 1


@pytest.mark.parametrize("history", ssda903.HISTORIES)
def test_every_year_imported_the_figures_are_the_feeds_but_late_reasons_not_recorded(world, history):
    fed, imported = expected.figures(world), ssda903.figures(world, history=history)
    assert imported["ssda903"]["collection_years"] == [2024, 2025, 2026] and imported["ssda903"]["refusals"] == []
    for mine, theirs in zip(fed["periods"], imported["periods"], strict=True):
        assert mine["participation"] == theirs["participation"]
        late = sum(mine["timeliness"]["late_by_reason"].values())
        assert theirs["timeliness"]["late_by_reason"] == ({"not_recorded": late} if late else {})
        assert {**mine["timeliness"], "late_by_reason": None} == {**theirs["timeliness"], "late_by_reason": None}
        assert theirs["timeliness"]["not_judged"] == 0


@pytest.mark.parametrize("history", ssda903.HISTORIES)
def test_imported_from_a_later_year_the_periods_begun_before_it_began_before_the_data(world, history):
    rebuilt = ssda903.imported(world, [2025, 2026], history=history)
    by_ref = {child.la_reference: child for child in world.children}
    before = []
    for child in rebuilt.world.children:
        shown = ssda903.periods_in_year(by_ref[child.la_reference], D(2024, 4, 1), world.end)
        for truth, period in zip(shown, child.periods, strict=True):
            assert period.started_before_data == (truth.started_on < D(2024, 4, 1))
            if period.started_before_data:
                before.append(period)
                # From its S with periods whole; else from the episode open on 1 April 2024.
                assert truth.started_on <= period.started_on < D(2024, 4, 1)
                assert history == "year" or period.started_on == truth.started_on
            else:
                assert period.started_on == truth.started_on
    assert len(before) > 20
    for period in before:
        first, *rest = period.reviews
        assert not first.judged and all(r.judged for r in rest)
        if rest and first.held_on is not None:  # the next within 6 months of it, as after a later review
            assert rest[0].statutory_due_on == tt.plus_months(first.held_on, 6)


def test_imported_from_a_later_year_the_figures_are_the_worlds_for_what_the_data_shows(world):
    """From 2025 on, with either history: the same figures, nothing judged in 2023-24 (nothing of it
    was imported), the periods begun before the data counted apart in 2024-25, and 2025-26 as the
    fed world's but for the late reasons."""
    document = ssda903.figures(world, [2025, 2026], history="period")
    assert document["periods"] == ssda903.figures(world, [2025, 2026], history="year")["periods"]
    assert document["ssda903"]["refusals"] == []
    names = [p["name"] for p in document["periods"]]
    by_name = dict(zip(names, document["periods"], strict=True))
    fed = dict(zip(names, expected.figures(world)["periods"], strict=True))
    nothing = by_name["collection year 2023-24"]["timeliness"]
    assert (nothing["reviews_held"], nothing["overdue_unheld"], nothing["children_reviewed"]) == (0, 0, 0)
    first = by_name["collection year 2024-25"]["timeliness"]
    assert first["not_judged"] > 20
    assert first["reviews_held"] + first["not_judged"] == fed["collection year 2024-25"]["timeliness"]["reviews_held"]
    mine, theirs = fed["collection year 2025-26"], by_name["collection year 2025-26"]
    assert mine["participation"] == theirs["participation"] and theirs["timeliness"]["not_judged"] == 0
    late = sum(mine["timeliness"]["late_by_reason"].values())
    assert theirs["timeliness"]["late_by_reason"] == {"not_recorded": late}
    assert {**mine["timeliness"], "late_by_reason": None} == {**theirs["timeliness"], "late_by_reason": None}


# --- The command ------------------------------------------------------------------------------------------


def test_iro_simulate_ssda903_dir_writes_the_returns_and_the_expected_figures(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IRO_TODAY", "2026-10-01")
    argv = ["simulate", "--children", "40", "--iros", "2", "--years", "2", "--seed", "7"]
    argv += ["--ssda903-dir", str(tmp_path)]
    assert cli.main([*argv, "--collection-years", "2026,2027", "--expected", str(tmp_path / "copy.json")]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026", "2027", "copy.json", "expected.json"]
    assert sorted(p.name for p in (tmp_path / "2027").iterdir()) == ["episodes.csv", "header.csv", "reviews.csv"]
    document = json.loads((tmp_path / "expected.json").read_text())
    assert document == json.loads((tmp_path / "copy.json").read_text())
    assert document["ssda903"]["collection_years"] == [2026, 2027]
    assert document["ssda903"]["returns"][1]["as_at"] == "2026-09-30"  # the year still running: as at yesterday
    out = capsys.readouterr().out
    assert "SSDA903 return 2027 (as at 2026-09-30, history: period)" in out
    assert cli.main(argv) == 0 and sorted(p.name for p in tmp_path.iterdir())[:3] == ["2025", "2026", "2027"]


def test_iro_simulate_ssda903_refuses_a_year_outside_the_world_and_years_without_a_dir(tmp_path, capsys):
    base = ["simulate", "--children", "5", "--iros", "1", "--years", "1", "--seed", "7"]
    assert cli.main([*base, "--ssda903-dir", str(tmp_path), "--collection-years", "2001"]) == 2
    assert "does not meet the world" in capsys.readouterr().err
    assert cli.main([*base, "--ssda903-dir", str(tmp_path), "--collection-years", "next"]) == 2
    assert cli.main([*base, "--collection-years", "2025"]) == 2
    assert "go with --ssda903-dir" in capsys.readouterr().err


def test_iro_simulate_ssda903_refuses_years_with_a_gap(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IRO_TODAY", "2026-10-01")
    argv = ["simulate", "--children", "5", "--iros", "1", "--years", "3", "--seed", "7", "--ssda903-dir", str(tmp_path)]
    assert cli.main([*argv, "--collection-years", "2024,2026"]) == 2
    assert "leave out 2025" in capsys.readouterr().err and not any(tmp_path.iterdir())
