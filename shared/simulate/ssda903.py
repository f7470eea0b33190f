"""The simulated world's SSDA903 returns, and the world as a platform rebuilds it from them.

`returns(world, years)` writes, for each collection year (1 April to 31 March, named by its end), the
three CSV files a council's case system exports for the DfE (docs/simulate.md, "SSDA903 returns"):

- header.csv: CHILD, SEX, DOB, ETHNIC, UPN, MOTHER, MC_DOB; one row per child looked after at any
  time in the year. SEX 1 male, 2 female (the sex the case system settles on); DOB the true one.
  ETHNIC, UPN, MOTHER, MC_DOB are plausible fakes (the platform never reads them).
- episodes.csv: CHILD, DECOM, RNE, LS, CIN, PLACE, PLACE_PROVIDER, DEC, REC, REASON_PLACE_CHANGE,
  HOME_POST, PL_POST, URN; an episode per placement and legal status spell (the 903 rule: a new
  episode starts at each change of either): RNE `S` for the period's first, then `L` (legal status),
  `P` (placement) or `B` (both on one day); REC `X1` for an episode that ends with care continuing,
  the exit's REC for the period's last, DEC and REC empty for the episode still open at the year's
  end (or yesterday, for the year still running).
- reviews.csv: CHILD, DOB, REVIEW, REVIEW_CODE; the reviews held in the year, REVIEW_CODE the
  participation code the child's review was given (on the case system or by the IRO), empty when it
  was never coded.

Dates are dd/mm/yyyy. Which episodes a year's return holds (`history`):

- `period` (the default): every episode of each care period that meets the year, from its `S`, as
  at the year's end: a period that began in an earlier year is complete in the file.
- `year`: only the episodes open at some time in the year (or ending in it), so a period that began
  before the year starts, in the file, with the episode open on 1 April (RNE not `S`).

`imported(world, years)` is the world as a platform holds it once those returns are imported oldest
first, by the import's rules as the simulator reads them (issue 13, docs/ssda903.md "The mapping";
never the platform's code). The import that first shows a care period creates it: at its `S`, or
at its first episode shown when that is not `S` (a `year` return of a period that began before the
year). The period "began before the data" when the return creating it does not show its `S`, or
shows an `S` before the return's year (the return holds only its own year's reviews, so the
period's earlier reviews are not in the data either); a later return only carries on a period
already created. Only the reviews in the returns are held, and the timetable is rebuilt from them
with the simulator's own (`timetable.py`): a review is due 20 working days from the period's start
as the data shows it, then 3 months, then 6 months after the one held before; the first review
imported for a period before the data is held but not judged for timeliness, and the next is due
within 6 months of it (as after a later review: the period has had its first review already); a
late one has the late reason `not_recorded` (the 903 records none); a period ends only when a
return shows its end. The years are consecutive: a return missing between two would leave the
platform's periods other than the world's (`imported` refuses them). `figures` gives the expected
figures of that world (`expected.figures`'s shape).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from shared.calendar import WorkingCalendar
from shared.simulate import expected
from shared.simulate import timetable as tt
from shared.simulate.world import CarePeriod, Child, Review, World, weighted

History = Literal["period", "year"]
HISTORIES: Final = ("period", "year")

HEADER: Final = ("CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB")
EPISODES: Final = (
    "CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC", "REASON_PLACE_CHANGE",
    "HOME_POST", "PL_POST", "URN",
)  # fmt: skip
REVIEWS: Final = ("CHILD", "DOB", "REVIEW", "REVIEW_CODE")
COLUMNS: Final = {"header": HEADER, "episodes": EPISODES, "reviews": REVIEWS}
FILES: Final = {"header": "header.csv", "episodes": "episodes.csv", "reviews": "reviews.csv"}

CONTINUES: Final = "X1"  # REC: the episode ends, the period of care goes on
NOT_RECORDED: Final = "not_recorded"  # the late reason of a late review imported from a return
SEX_CODES: Final = {"male": "1", "female": "2"}

ETHNICITIES: Final = (
    ("WBRI", 62.0), ("WIRI", 1.0), ("WOTH", 6.0), ("WROM", 1.0), ("MWBC", 5.0), ("MWBA", 2.0), ("MWAS", 2.0),
    ("MOTH", 4.0), ("AIND", 1.5), ("APKN", 2.5), ("ABAN", 1.5), ("AOTH", 2.0), ("BCRB", 2.0), ("BAFR", 4.0),
    ("BOTH", 1.0), ("CHNE", 0.5), ("OOTH", 2.0), ("REFU", 0.5), ("NOBT", 0.5),
)  # fmt: skip
"""The DfE's ethnicity codes, weighted roughly like England's looked-after children."""
NEEDS: Final = (("N1", 65.0), ("N2", 3.0), ("N3", 3.0), ("N4", 7.0), ("N5", 14.0), ("N6", 2.0), ("N8", 6.0))
"""CIN, the category of need: N1 abuse or neglect ... N8 absent parenting."""
MOVES_PLANNED: Final = (("APPRR", 50.0), ("LAREQ", 20.0), ("PLACE", 10.0), ("CREQO", 10.0), ("OTHER", 10.0))
MOVES_UNPLANNED: Final = (("CARPL", 35.0), ("STAND", 15.0), ("ALLEG", 10.0), ("CHILD", 20.0), ("CREQB", 10.0),
                          ("CLOSE", 10.0))  # fmt: skip
"""REASON_PLACE_CHANGE for a planned and an unplanned move."""
FAMILY_PLACEMENTS: Final = frozenset({"P1", "P2", "P3"})  # placed with parents or in their care: provider PR0
REGISTERED_SETTINGS: Final = frozenset({"K1", "K2", "R1", "R2", "R5", "H5", "S1"})  # Ofsted-registered: a URN
UPN_CHECK: Final = "ABCDEFGHJKLMNPQRTUVWXYZ"
FAKE_LA: Final = "999"  # no local authority has this number


def collection_year_dates(year: int) -> tuple[dt.date, dt.date]:
    """The collection year `year`: 1 April of the year before to 31 March, both included."""
    return dt.date(year - 1, 4, 1), dt.date(year, 3, 31)


def collection_years(world: World) -> list[int]:
    """Every collection year that meets the world, oldest first."""
    return list(range(tt.collection_year(world.start), tt.collection_year(world.end) + 1))


def ddmmyyyy(day: dt.date | None) -> str:
    return "" if day is None else f"{day:%d/%m/%Y}"


# --- Episodes ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Episode:
    """One 903 episode of a care period as the world knows it at its end: `dec` and `rec` None while
    it is open; `unplanned` whether the move that began it (RNE P or B) was unplanned."""

    decom: dt.date
    rne: str
    legal_status: str
    placement: str
    dec: dt.date | None
    rec: str | None
    unplanned: bool = False

    def as_at(self, day: dt.date) -> Episode:
        """The episode as a return made on `day` shows it: still open if it ended after `day`."""
        if self.dec is not None and self.dec > day:
            return dataclasses.replace(self, dec=None, rec=None)
        return self


def spells(period: CarePeriod) -> list[Episode]:
    """The period's episodes: a new one at its start (RNE S) and at each change of legal status (L),
    placement (P) or both on one day (B); each but the last ends with X1 on the next one's DECOM,
    the last with the period's exit (or not yet)."""
    statuses = dict(period.legal_status_changes)
    moves = {day: (code, unplanned) for day, code, unplanned in period.placement_changes}
    legal_status, placement = period.legal_status, period.placement_type
    starts: list[tuple[dt.date, str, str, str, bool]] = [(period.started_on, "S", legal_status, placement, False)]
    for day in sorted(set(statuses) | set(moves)):
        unplanned = False
        if day in statuses:
            legal_status = statuses[day]
        if day in moves:
            placement, unplanned = moves[day]
        rne = "B" if day in statuses and day in moves else "L" if day in statuses else "P"
        starts.append((day, rne, legal_status, placement, unplanned))
    out: list[Episode] = []
    for index, (decom, rne, ls, place, unplanned) in enumerate(starts):
        dec: dt.date | None
        rec: str | None
        if index + 1 < len(starts):
            dec, rec = starts[index + 1][0], CONTINUES
        else:
            dec, rec = period.ended_on, period.reason if period.ended_on is not None else None
        out.append(Episode(decom, rne, ls, place, dec, rec, unplanned))
    return out


def periods_in_year(child: Child, start: dt.date, cut: dt.date) -> list[CarePeriod]:
    """The child's care periods that meet [start, cut] (one that ends on `start` included: its last
    episode ends in the year)."""
    return [p for p in child.periods if p.started_on <= cut and (p.ended_on is None or p.ended_on >= start)]


def episodes_in_return(period: CarePeriod, start: dt.date, cut: dt.date, history: History) -> list[Episode]:
    """The period's episodes a return for [start, cut] holds, as at `cut` (module docstring)."""
    shown = [episode.as_at(cut) for episode in spells(period) if episode.decom <= cut]
    if history == "year":
        shown = [episode for episode in shown if episode.dec is None or episode.dec >= start]
    return shown


# --- The returns -------------------------------------------------------------------------------------


@dataclass
class Return:
    """One collection year's return: rows (column to text) per table; `cut` the day it is as at (the
    year's end, or yesterday for the year still running)."""

    year: int
    start: dt.date
    end: dt.date
    cut: dt.date
    history: History
    rows: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def write(self, folder: Path, *, line_ending: str = "\n") -> dict[str, Path]:
        """The three files into `folder` (made if need be), UTF-8, lines ending with `line_ending`."""
        folder.mkdir(parents=True, exist_ok=True)
        paths = {}
        for table, name in FILES.items():
            path = folder / name
            with path.open("w", encoding="utf-8", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=COLUMNS[table], lineterminator=line_ending)
                writer.writeheader()
                writer.writerows(self.rows[table])
            paths[table] = path
        return paths


@dataclass(frozen=True)
class _Profile:
    """What the case system holds about a child besides their care, the same in every return."""

    sex: str
    ethnic: str
    upn: str
    mother: str
    home_post: str
    needs: tuple[str, ...]  # CIN per care period


def _upn(rng: random.Random) -> str:
    """A fake unique pupil number: a check letter, then LA 999, a school, a year and a serial."""
    digits = FAKE_LA + f"{rng.randint(1000, 7999)}{rng.randint(5, 25):02d}{rng.randint(0, 999):03d}"
    check = sum(int(digit) * weight for digit, weight in zip(digits, range(2, 14), strict=True)) % 23
    return UPN_CHECK[check] + digits


def _postcode(rng: random.Random) -> str:
    """A fake postcode sector: ZZ99, the pseudo-postcode area nobody lives in."""
    return f"ZZ99 {rng.randint(1, 9)}"


def profile(world: World, child: Child) -> _Profile:
    rng = random.Random(f"iro-simulate:{world.options.seed}:ssda903:{child.index}")
    settled: str = child.sex
    for correction in child.corrections:
        settled = correction.changes.get("sex", settled)
    sex = SEX_CODES.get(settled) or rng.choice(("1", "2"))
    return _Profile(
        sex=sex,
        ethnic=weighted(rng, ETHNICITIES),
        upn=_upn(rng),
        mother="0" if sex == "2" else "",
        home_post=_postcode(rng),
        needs=tuple("N2" if p.short_break else "N8" if child.uasc else weighted(rng, NEEDS) for p in child.periods),
    )


def _provider(rng: random.Random, placement: str) -> str:
    if placement in FAMILY_PLACEMENTS:
        return "PR0"
    return weighted(rng, (("PR1", 55.0), ("PR4", 38.0), ("PR2", 4.0), ("PR3", 3.0)))


def _episode_rows(world: World, child: Child, period: CarePeriod, shown: Sequence[Episode]) -> list[dict[str, str]]:
    who = profile(world, child)
    need = who.needs[child.periods.index(period)]
    rows = []
    for episode in shown:
        # Each episode's fakes from its own generator, so a repeated episode reads the same every year.
        rng = random.Random(f"iro-simulate:{world.options.seed}:ssda903:{child.index}:{episode.decom}")
        moved = episode.rne in ("P", "B")
        reason = weighted(rng, MOVES_UNPLANNED if episode.unplanned else MOVES_PLANNED) if moved else ""
        rows.append(
            {
                "CHILD": child.la_reference,
                "DECOM": ddmmyyyy(episode.decom),
                "RNE": episode.rne,
                "LS": episode.legal_status,
                "CIN": need,
                "PLACE": episode.placement,
                "PLACE_PROVIDER": _provider(rng, episode.placement),
                "DEC": ddmmyyyy(episode.dec),
                "REC": episode.rec or "",
                "REASON_PLACE_CHANGE": reason,
                "HOME_POST": who.home_post,
                "PL_POST": who.home_post if episode.placement in FAMILY_PLACEMENTS else _postcode(rng),
                "URN": f"SC{rng.randint(100000, 999999)}" if episode.placement in REGISTERED_SETTINGS else "XXXXXXX",
            }
        )
    return rows


def make_return(world: World, year: int, *, history: History = "period") -> Return:
    """The return for collection year `year` (module docstring). Raises ValueError for a year that
    does not meet the world."""
    if history not in HISTORIES:
        raise ValueError(f"history is one of {', '.join(HISTORIES)}, not {history!r}")
    start, end = collection_year_dates(year)
    if start > world.end or end < world.start:
        raise ValueError(f"collection year {year} ({start} to {end}) does not meet the world ({world.start} to "
                         f"{world.end})")  # fmt: skip
    cut = min(end, world.end)
    made = Return(year, start, end, cut, history, {table: [] for table in FILES})
    for child in world.children:
        periods = periods_in_year(child, start, cut)
        if not periods:
            continue
        who = profile(world, child)
        dob = ddmmyyyy(child.date_of_birth)
        made.rows["header"].append(
            {
                "CHILD": child.la_reference,
                "SEX": who.sex,
                "DOB": dob,
                "ETHNIC": who.ethnic,
                "UPN": who.upn,
                "MOTHER": who.mother,
                "MC_DOB": "",
            }
        )
        for period in periods:
            made.rows["episodes"] += _episode_rows(
                world, child, period, episodes_in_return(period, start, cut, history)
            )
            for review in period.reviews:
                if review.held_on is not None and start <= review.held_on <= cut:
                    made.rows["reviews"].append(
                        {
                            "CHILD": child.la_reference,
                            "DOB": dob,
                            "REVIEW": ddmmyyyy(review.held_on),
                            "REVIEW_CODE": review.code or "",
                        }
                    )
    return made


def returns(world: World, years: Sequence[int] | None = None, *, history: History = "period") -> list[Return]:
    """The returns for `years` (default: every collection year that meets the world), oldest first."""
    return [make_return(world, year, history=history) for year in sorted(years or collection_years(world))]


def repeats(made: Sequence[Return]) -> list[dict[str, int]]:
    """Per return (in import order), per table, the rows that tell the platform nothing new after the
    returns before it: a child's header again, an episode again with what was known of it then (its
    end given now with X1 adds nothing: care went on). The rest is new."""
    out = []
    seen_children: set[str] = set()
    seen_episodes: dict[tuple[str, str], dict[str, str]] = {}
    for one in made:
        counts = {"header": 0, "episodes": 0, "reviews": 0}
        for row in one.rows["header"]:
            counts["header"] += row["CHILD"] in seen_children
        for row in one.rows["episodes"]:
            before = seen_episodes.get((row["CHILD"], row["DECOM"]))
            counts["episodes"] += before is not None and (row["REC"] in ("", CONTINUES) or before["REC"] != "")
        out.append(counts)
        seen_children.update(row["CHILD"] for row in one.rows["header"])
        seen_episodes.update({(row["CHILD"], row["DECOM"]): row for row in one.rows["episodes"]})
    return out


# --- The world as imported ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpectedRefusal:
    """A row the import should refuse by the simulator's reading of the rules, and why."""

    year: int
    file: str
    child: str
    field: str
    reason: str


@dataclass
class Imported:
    """The world as the platform holds it after the returns (`world`), and the rows it should refuse."""

    world: World
    years: list[int]
    history: History
    refusals: list[ExpectedRefusal] = field(default_factory=list)


def _retimetable(
    calendar: WorkingCalendar, child: Child, period: CarePeriod, held: Sequence[tuple[int, Review]]
) -> tuple[list[Review], list[ExpectedRefusal]]:
    """The reviews of `period` (as imported) from the reviews the returns hold (`held`: (year, review)),
    by the simulator's timetable, and the imported reviews no review is left to hold."""
    cutoff = child.eighteenth_birthday
    out: list[Review] = []
    refused: list[ExpectedRefusal] = []
    due = tt.first_review_due(calendar, period.started_on, short_break=period.short_break)
    sequence = 1
    for year, original in held:
        assert original.held_on is not None
        if due >= cutoff:  # nothing was scheduled: the review has no due review to satisfy
            refused.append(ExpectedRefusal(year, "reviews.csv", child.la_reference, "REVIEW",
                                           f"REVIEW {ddmmyyyy(original.held_on)}: no review was due before the "
                                           "18th birthday"))  # fmt: skip
            continue
        judged = _judged(period, sequence)
        review = Review(sequence=sequence, statutory_due_on=due, held_on=original.held_on, judged=judged,
                        code=original.code, code_via="event" if original.code else None)  # fmt: skip
        if review.in_time is False:
            review.late_reason = NOT_RECORDED
        out.append(review)
        # After a review not judged the period has had its first review already (before the data):
        # the next is reckoned as after a later review, within 6 months.
        after = sequence if judged else max(sequence, 2)
        due = tt.next_review_due(original.held_on, held_sequence=after, short_break=period.short_break)
        sequence += 1
    if due < cutoff:
        judged = _judged(period, sequence)
        following = Review(sequence=sequence, statutory_due_on=due, judged=judged)
        if period.ended_on is not None:
            following.closed = "missed" if judged and due < period.ended_on else "cancelled"
            following.closed_on = period.ended_on
        out.append(following)
    return out, refused


def _judged(period: CarePeriod, sequence: int) -> bool:
    """Whether the `sequence`-th review of a period as imported is judged for timeliness: all but the
    first of a period that began before the data (it has no known predecessor)."""
    return not (period.started_before_data and sequence == 1)


def consecutive(years: Sequence[int]) -> None:
    """ValueError unless `years` follow one another: the expected figures are for returns imported
    oldest first with none missing between them (a missing year's ends and starts would be missed)."""
    ordered = sorted(years)
    missing = sorted(set(range(ordered[0], ordered[-1] + 1)) - set(ordered)) if ordered else []
    if missing:
        raise ValueError(
            f"the collection years {', '.join(map(str, ordered))} leave out {', '.join(map(str, missing))}: the "
            "figures expected of an import are for consecutive years imported oldest first"
        )


def _as_imported(
    calendar: WorkingCalendar, child: Child, period: CarePeriod, made: Sequence[Return], history: History
) -> tuple[CarePeriod, list[ExpectedRefusal]] | None:
    """`period` as the returns `made` (consecutive, oldest first) rebuild it, with the refusals
    expected of its reviews; None when no return shows it. The first return that shows it creates
    it; the later ones carry it on (a start the platform already knows is a duplicate)."""
    creating: Return | None = None
    shown: list[Episode] = []
    held: list[tuple[int, Review]] = []
    for one in made:
        if not any(p is period for p in periods_in_year(child, one.start, one.cut)):
            continue
        episodes = episodes_in_return(period, one.start, one.cut, history)
        if creating is None:
            creating = one
        shown += episodes
        held += [(one.year, r) for r in period.reviews if r.held_on and one.start <= r.held_on <= one.cut]
    if creating is None or not shown:
        return None
    first = min(shown, key=lambda episode: episode.decom)
    ends = [episode for episode in shown if episode.rec not in (None, CONTINUES)]
    rebuilt = CarePeriod(
        started_on=first.decom,
        legal_status=first.legal_status,
        placement_type=first.placement,
        short_break=period.short_break,
        ended_on=ends[0].dec if ends else None,
        reason=ends[0].rec if ends else None,
        # Its S not shown, or before the year of the return that creates it: its earlier reviews are not
        # in the data.
        started_before_data=first.rne != "S" or first.decom < creating.start,
    )
    held.sort(key=lambda pair: pair[1].held_on or dt.date.min)
    rebuilt.reviews, refused = _retimetable(calendar, child, rebuilt, held)
    return rebuilt, refused


def imported(world: World, years: Sequence[int] | None = None, *, history: History = "period") -> Imported:
    """The world as the platform rebuilds it from the returns for `years` imported oldest first
    (module docstring): only what the returns show, timetabled again from the reviews they hold.
    Raises ValueError for years that are not consecutive (`consecutive`) or do not meet the world."""
    consecutive(years or [])
    made = returns(world, years, history=history)
    calendar = WorkingCalendar(world.options.closure_days)
    result = Imported(world=world, years=[one.year for one in made], history=history)
    children: list[Child] = []
    for child in world.children:
        periods: list[CarePeriod] = []
        for period in child.periods:
            found = _as_imported(calendar, child, period, made, history)
            if found is None:
                continue
            rebuilt, refused = found
            result.refusals += refused
            periods.append(rebuilt)
        if periods:
            children.append(
                dataclasses.replace(
                    child,
                    registered_date_of_birth=child.date_of_birth,
                    periods=periods,
                    allocations=[],
                    case_notes=[],
                    corrections=[],
                )
            )
    result.world = World(options=world.options, iros=world.iros, children=children)
    return result


def figures(world: World, years: Sequence[int] | None = None, *, history: History = "period") -> dict[str, Any]:
    """The expected figures (`expected.figures`'s document) for the platform once the returns for
    `years` are imported oldest first, with `ssda903`: the years, the history, each return's rows per
    table and the rows that repeat earlier returns, and the refusals the simulator expects."""
    rebuilt = imported(world, years, history=history)
    made = returns(world, rebuilt.years, history=history)
    document = expected.figures(rebuilt.world, api_activity=False)
    document["ssda903"] = {
        "collection_years": rebuilt.years,
        "history": history,
        "returns": [
            {
                "collection_year": one.year,
                "as_at": one.cut.isoformat(),
                "rows": {table: len(rows) for table, rows in one.rows.items()},
                "repeated": repeated,
            }
            for one, repeated in zip(made, repeats(made), strict=True)
        ],
        "refusals": [dataclasses.asdict(refusal) for refusal in rebuilt.refusals],
    }
    return document
