"""A hand-built annual report dataset for the page's tests: four IROs, every theme filled.

- The period is the collection year 1 April 2024 to 31 March 2025. The SSDA903 records begin
  1 April 2022; the platform's own records on 4 September 2023, inside the year earlier, so the
  platform's themes say "counted from" there; feedback begins 3 June 2024, so its year earlier is
  None and this period is counted from then.
- Counts from 1 to 4 are sprinkled through (an IRO with a caseload of 4, a month with 3 reviews,
  age 17 with 3 coded reviews, 2 Cafcass referrals, one escalation at stage 5 ...) to exercise the
  suppression; `SMALL_RATE` and friends name the ones tests look for.
- IROs have staff names (`IRO_NAMES`) that the published page must never show.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import ROUND_HALF_UP, Decimal

from services.gateway import report_data as rd

PERIOD_FROM = dt.date(2024, 4, 1)
PERIOD_TO = dt.date(2025, 3, 31)
RECORDS_FROM = dt.date(2022, 4, 1)
PLATFORM_FROM = dt.date(2023, 9, 4)
FEEDBACK_FROM = dt.date(2024, 6, 3)

IRO_IDS = [uuid.UUID(int=n) for n in (11, 12, 13, 14)]
IRO_NAMES = ["Amelia Hartley", "Benedict Okafor", "Carys Pritchard", "Dmitri Volkov"]


def rate(numerator: int, denominator: int) -> rd.Rate:
    pct = None
    if denominator:
        pct = float((Decimal(numerator) * 100 / Decimal(denominator)).quantize(Decimal("0.1"), ROUND_HALF_UP))
    return rd.Rate(numerator=numerator, denominator=denominator, pct=pct)


def period(start: dt.date, end: dt.date) -> rd.Period:
    return rd.Period(from_=start, to=end, as_of=end)


def months(start: dt.date) -> list[str]:
    return [f"{start.year + (start.month - 1 + n) // 12}-{(start.month - 1 + n) % 12 + 1:02d}" for n in range(12)]


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    first = dt.date.fromisoformat(month + "-01")
    following = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following - dt.timedelta(days=1)


def children(shift: int) -> rd.ChildrenLookedAfter:
    return rd.ChildrenLookedAfter(
        looked_after_at_start=298 + shift, looked_after_at_end=312 + shift, looked_after_during=401 + shift,
        started=103, ceased=89 - shift,
    )  # fmt: skip


def staffing(as_of: dt.date, *, previous: bool) -> rd.Staffing:
    # (fte, caseload): IRO 4 joined late in the period on half time with 4 children (suppressed)
    loads = [(1.0, 62), (1.0, 74), (0.8, 38), (0.5, 4)] if not previous else [(1.0, 66), (1.0, 71), (0.8, 45)]
    per_iro = []
    for iro_id, name, (fte, caseload) in zip(IRO_IDS, IRO_NAMES, loads, strict=False):
        per_fte = round(caseload / fte, 1)
        band = "below" if per_fte < 50 else "within" if per_fte <= 70 else "above"
        per_iro.append(rd.IroCaseload(iro_id=iro_id, name=name, fte=fte, caseload=caseload,
                                      caseload_per_fte=per_fte, band=band))  # fmt: skip
    fte = round(sum(f for f, _ in loads), 1)
    allocated = sum(c for _, c in loads)
    bands = {b: sum(1 for i in per_iro if i.band == b) for b in ("below", "within", "above")}
    return rd.Staffing(
        as_of=as_of, iros=len(per_iro), fte=fte, children_allocated=allocated, unallocated=3,
        caseload_per_fte=rd.Ratio(value=round(allocated / fte, 1), numerator=allocated, denominator=fte),
        within_guidance=rate(len(per_iro) - bands["above"], len(per_iro)), by_band=bands,
        guidance_lower=50, guidance_upper=70, per_iro=per_iro,
    )  # fmt: skip


def reviews(shift: int) -> rd.Reviews:
    return rd.Reviews(held=812 + shift, not_judged=2, by_sequence=[
        rd.SequenceFigures(sequence="first", held=96, in_time=rate(81, 96)),
        rd.SequenceFigures(sequence="second", held=88, in_time=rate(79, 88)),
        rd.SequenceFigures(sequence="subsequent", held=628 + shift, in_time=rate(570 + shift, 628 + shift)),
    ])  # fmt: skip


def timeliness(start: dt.date, as_of: dt.date, *, previous: bool) -> rd.Timeliness:
    by_month = []
    for n, month in enumerate(months(start)):
        held = 3 if n == 7 and not previous else 60 + (n * 7) % 15  # November 2024: 3 reviews (suppressed)
        in_time = held if held < 5 else held - 4 - (n * 5) % 9 - (3 if previous else 0)
        first, last = month_bounds(month)
        by_month.append(rd.MonthTimeliness(month=month, from_=first, to=last, as_of=last, held=held,
                                           in_time=rate(in_time, held), overdue_unheld=n % 3))  # fmt: skip
    held = sum(m.held for m in by_month)
    in_time = sum(m.in_time.numerator for m in by_month)
    late = held - in_time
    reasons = [("key_people_unavailable", late - 30 - 4), ("late_notification", 30), ("child_missing", 4)]
    return rd.Timeliness(
        as_of=as_of, reviews_in_time=rate(in_time, held), children_all_in_time=rate(301, 356),
        overdue_unheld=7, late_by_reason=[rd.ReasonCount(reason=r, share=rate(n, late)) for r, n in reasons],
        by_month=by_month,
    )  # fmt: skip


def record_keeping(as_of: dt.date) -> rd.RecordKeeping:
    return rd.RecordKeeping(
        as_of=as_of, sw_report_on_time=rate(640, 812), decisions_on_time=rate(701, 812),
        record_on_time=rate(655, 812), letter_to_child_on_time=rate(3, 41), letter_to_child_sent=rate(41, 44),
    )  # fmt: skip


SMALL_RATE = "letter_to_child_on_time"
"""A rate with a numerator of 3: withheld on the page."""

CODES = {"PN0": 96, "PN1": 402, "PN2": 41, "PN3": 22, "PN4": 18, "PN5": 60, "PN6": 119, "PN7": 4}


def participation(*, previous: bool) -> rd.Participation:
    labels = {"PN0": "Child aged under 4 at the time of the review", "PN1": "Attends and speaks for themselves",
              "PN2": "Attends; an advocate speaks on their behalf", "PN3": "Attends and conveys views symbolically",
              "PN4": "Attends but does not speak or convey views", "PN5": "Does not attend; briefs an advocate",
              "PN6": "Does not attend; conveys views by another medium",
              "PN7": "Does not attend and views are not conveyed"}  # fmt: skip
    coded = sum(CODES.values())
    by_age = []
    for age in range(4, 19 if previous else 18):
        total = 3 if age == 17 else 30 + (age * 11) % 25  # age 17: 3 coded reviews (suppressed)
        took_part = total if total < 5 else total - 1 - (age * 3) % 6 - (2 if previous else 0)
        by_age.append(rd.AgeParticipation(age=age, participated=rate(took_part, total)))
    aged_4_plus = coded - CODES["PN0"]
    return rd.Participation(
        age_on=None, reviews=coded + 12, uncoded=12,
        by_code=[rd.CodeShare(code=c, label=labels[c], share=rate(n, coded)) for c, n in CODES.items()],
        aged_4_plus=rate(aged_4_plus - CODES["PN7"], aged_4_plus), by_age=by_age,
    )  # fmt: skip


def participation_detail() -> rd.ParticipationDetail:
    recorded = 640
    methods = {"in_person": 402, "video": 88, "phone": 31, "consultation_form": 190, "app": 2, "advocate": 75}
    chaired = {"chair": 19, "co_chair": 4, "no": 617}
    return rd.ParticipationDetail(
        recorded=recorded,
        methods=[rd.Share(key=k, share=rate(n, recorded)) for k, n in methods.items()],
        chaired_by_child=[rd.Share(key=k, share=rate(n, recorded)) for k, n in chaired.items()],
        parents_taking_part=rate(377, recorded), interpreter_used=rate(23, recorded),
        met_iro_before=rate(512, recorded),
    )  # fmt: skip


def escalations(*, previous: bool) -> rd.Escalations:
    stages = [(0, "Informal alert (social worker and team manager)", 41), (1, "Team Manager", 23),
              (2, "Service Manager", 9), (3, "Head of Service", 5), (4, "Assistant Director", 0),
              (5, "Director of Children's Services", 0 if previous else 1)]  # fmt: skip
    categories = [("drift_in_care_planning", 18, 12), ("care_plan_not_completed", 11, 9), ("placement_stability", 7, 2),
                  ("social_worker_availability", 5, 0), ("legal_status", 0, 3)]  # fmt: skip
    return rd.Escalations(
        alerts=41 if not previous else 35, formal=26, escalated_alerts=9,
        by_stage_reached=[rd.StageReached(stage=s, name=name, count=n) for s, name, n in stages],
        by_category=[rd.CategoryKind(category=c, alerts=a, formal=f) for c, a, f in categories],
        by_team=[rd.TeamCount(team="Children in Care North", count=31),
                 rd.TeamCount(team="Children in Care South", count=22), rd.TeamCount(team="Leaving Care", count=2)],
        resolved_at_stage_1=rate(17, 22), working_days_to_resolution=rd.Median(median=8.5, count=22),
        overdue_now=3, overdue_as_of=dt.date(2025, 5, 2), cafcass_referrals=2 if not previous else 0,
        children_with_repeat_escalations=6, commendations=58,
    )  # fmt: skip


def footprint(start: dt.date) -> rd.Footprint:
    names = months(start)
    per_iro = [
        rd.IroActivity(iro_id=iro, name=name, midway_reviews=[(n * k) % 9 + 3 for n in range(12)],
                       case_notes=[20 + (n * k) % 17 for n in range(12)])
        for k, (iro, name) in enumerate(zip(IRO_IDS, IRO_NAMES, strict=True), start=1)
    ]  # fmt: skip
    per_iro.append(rd.IroActivity(iro_id=None, name=None, midway_reviews=[0] * 12, case_notes=[1] + [0] * 11))
    return rd.Footprint(
        months=names, midway_reviews=sum(sum(i.midway_reviews) for i in per_iro),
        case_notes=sum(sum(i.case_notes) for i in per_iro), events_recorded=14_210, per_iro=per_iro,
    )  # fmt: skip


def feedback() -> rd.Feedback:
    forms = 84
    return rd.Feedback(
        forms=forms, anonymous=21,
        by_respondent=[rd.Share(key=k, share=rate(n, forms)) for k, n in
                       (("child", 38), ("parent", 17), ("carer", 22), ("social_worker", 4), ("guardian", 3))],
        questions=[
            rd.QuestionSummary(key="listens", text="My IRO listens to me", answers=[
                rd.Share(key=k, share=rate(n, 60)) for k, n in (("always", 44), ("sometimes", 14), ("never", 2))]),
            rd.QuestionSummary(key="explained", text="My IRO explained what the review was for", answers=[
                rd.Share(key=k, share=rate(n, 58)) for k, n in (("always", 51), ("sometimes", 7), ("never", 0))]),
        ],
    )  # fmt: skip


def advocacy(start: dt.date, *, previous: bool) -> rd.Advocacy:
    quarters = []
    for n, referrals in enumerate((0, 0, 3, 6) if previous else (7, 3, 9, 11)):
        first, _ = month_bounds(months(start)[n * 3])
        _, last = month_bounds(months(start)[n * 3 + 2])
        quarters.append(rd.QuarterCount(quarter=f"Q{n + 1}", from_=first, to=last, referrals=referrals))
    return rd.Advocacy(referrals=sum(q.referrals for q in quarters), by_quarter=quarters)


def annual_report() -> rd.AnnualReport:
    now, then = period(PERIOD_FROM, PERIOD_TO), period(dt.date(2023, 4, 1), dt.date(2024, 3, 31))
    return rd.AnnualReport(
        period=now,
        previous_period=then,
        generated_at=dt.datetime(2025, 5, 2, 9, 30, tzinfo=dt.UTC),
        records_from=RECORDS_FROM,
        platform_from=PLATFORM_FROM,
        children=rd.Theme(data_from=RECORDS_FROM, current=children(0), previous=children(-14)),
        staffing=rd.Theme(data_from=PLATFORM_FROM, current=staffing(now.to, previous=False),
                          previous=staffing(then.to, previous=True)),
        continuity=rd.Theme(data_from=RECORDS_FROM,
                            current=rd.Continuity(looked_after_throughout=209, kept_one_iro=rate(171, 209)),
                            previous=rd.Continuity(looked_after_throughout=198, kept_one_iro=rate(150, 198))),
        reviews=rd.Theme(data_from=RECORDS_FROM, current=reviews(0), previous=reviews(-31)),
        timeliness=rd.Theme(data_from=RECORDS_FROM, current=timeliness(now.from_, now.to, previous=False),
                            previous=timeliness(then.from_, then.to, previous=True)),
        record_keeping=rd.Theme(data_from=PLATFORM_FROM, current=record_keeping(now.to),
                                previous=record_keeping(then.to)),
        participation=rd.Theme(data_from=RECORDS_FROM, current=participation(previous=False),
                               previous=participation(previous=True)),
        participation_detail=rd.Theme(data_from=PLATFORM_FROM, current=participation_detail(),
                                      previous=participation_detail()),
        escalations=rd.Theme(data_from=PLATFORM_FROM, current=escalations(previous=False),
                             previous=escalations(previous=True)),
        footprint=rd.Theme(data_from=PLATFORM_FROM, current=footprint(now.from_), previous=footprint(then.from_)),
        feedback=rd.Theme(data_from=FEEDBACK_FROM, current=feedback(), previous=None),
        advocacy=rd.Theme(data_from=PLATFORM_FROM, current=advocacy(now.from_, previous=False),
                          previous=advocacy(then.from_, previous=True)),
    )  # fmt: skip
