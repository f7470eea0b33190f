"""The participation rules (services/participation/rules.py). Every age and percentage is worked out by hand."""

from datetime import date

import pytest

from services.participation import rules
from services.participation.errors import ParticipationCodeContradictsAge
from shared.errors import BeforeDateOfBirth, CodeNotOnList, DomainError

ALL_CODES = ("PN0", "PN1", "PN2", "PN3", "PN4", "PN5", "PN6", "PN7")
AGED_4_PLUS_CODES = ("PN1", "PN2", "PN3", "PN4", "PN5", "PN6", "PN7")
BORN_10_JUNE_2017 = date(2017, 6, 10)
BORN_29_FEB_2016 = date(2016, 2, 29)


def refusal(caught: pytest.ExceptionInfo[DomainError]) -> tuple[list[str | int], str]:
    error = caught.value.extras["errors"][0]
    return error["loc"], error["msg"]


# --- The code list --------------------------------------------------------------------------------


def test_codes_are_pn0_to_pn7_in_order_from_the_reference_list():
    assert rules.CODES == ALL_CODES


def test_pn1_to_pn6_count_as_participation_and_pn0_pn7_do_not():
    participated = rules.PARTICIPATED
    assert participated == frozenset({"PN1", "PN2", "PN3", "PN4", "PN5", "PN6"})


@pytest.mark.parametrize(
    ("code", "meaning"),
    [
        ("PN0", "Child aged under 4 at the time of the review"),
        ("PN1", "Attends and speaks for themselves"),
        ("PN7", "Does not attend and views are not conveyed"),
    ],
)
def test_code_meaning_comes_from_the_reference_list(code, meaning):
    assert rules.code_meaning(code) == meaning


def test_code_meaning_of_an_unknown_code_is_a_key_error():
    with pytest.raises(KeyError):
        rules.code_meaning("PN8")


# --- Codes against age, to the day ----------------------------------------------------------------


def test_day_before_4th_birthday_pn0_accepted():
    assert rules.check_code("PN0", date_of_birth=BORN_10_JUNE_2017, review_date=date(2021, 6, 9)) == "PN0"


def test_day_before_4th_birthday_pn1_refused_stating_age_3():
    with pytest.raises(ParticipationCodeContradictsAge) as caught:
        rules.check_code("PN1", date_of_birth=BORN_10_JUNE_2017, review_date=date(2021, 6, 9))
    loc, msg = refusal(caught)
    assert loc == ["body", "code"]
    assert msg == (
        "PN1 is only for a child aged 4 or over on the review date; the child was 3 on 2021-06-09, so the code is PN0."
    )
    assert caught.value.status == 422


def test_on_4th_birthday_pn0_refused_stating_age_4():
    with pytest.raises(ParticipationCodeContradictsAge) as caught:
        rules.check_code("PN0", date_of_birth=BORN_10_JUNE_2017, review_date=date(2021, 6, 10))
    loc, msg = refusal(caught)
    assert loc == ["body", "code"]
    assert msg == "PN0 is only for a child under 4 on the review date; the child was 4 on 2021-06-10."


@pytest.mark.parametrize("code", AGED_4_PLUS_CODES)
def test_on_4th_birthday_pn1_to_pn7_accepted(code):
    assert rules.check_code(code, date_of_birth=BORN_10_JUNE_2017, review_date=date(2021, 6, 10)) == code


@pytest.mark.parametrize("code", AGED_4_PLUS_CODES)
def test_day_after_4th_birthday_pn1_to_pn7_accepted(code):
    assert rules.check_code(code, date_of_birth=BORN_10_JUNE_2017, review_date=date(2021, 6, 11)) == code


def test_day_after_4th_birthday_pn0_refused():
    with pytest.raises(ParticipationCodeContradictsAge) as caught:
        rules.check_code("PN0", date_of_birth=BORN_10_JUNE_2017, review_date=date(2021, 6, 11))
    assert refusal(caught) == (
        ["body", "code"],
        "PN0 is only for a child under 4 on the review date; the child was 4 on 2021-06-11.",
    )


@pytest.mark.parametrize("code", AGED_4_PLUS_CODES)
def test_day_before_4th_birthday_every_pn1_to_pn7_refused(code):
    with pytest.raises(ParticipationCodeContradictsAge):
        rules.check_code(code, date_of_birth=BORN_10_JUNE_2017, review_date=date(2021, 6, 9))


def test_leap_day_child_is_3_on_28_february_of_the_leap_year_of_the_4th_birthday():
    assert rules.check_code("PN0", date_of_birth=BORN_29_FEB_2016, review_date=date(2020, 2, 28)) == "PN0"
    with pytest.raises(ParticipationCodeContradictsAge) as caught:
        rules.check_code("PN1", date_of_birth=BORN_29_FEB_2016, review_date=date(2020, 2, 28))
    assert refusal(caught)[1] == (
        "PN1 is only for a child aged 4 or over on the review date; the child was 3 on 2020-02-28, so the code is PN0."
    )


def test_leap_day_child_is_4_on_29_february_2020():
    assert rules.check_code("PN1", date_of_birth=BORN_29_FEB_2016, review_date=date(2020, 2, 29)) == "PN1"
    with pytest.raises(ParticipationCodeContradictsAge) as caught:
        rules.check_code("PN0", date_of_birth=BORN_29_FEB_2016, review_date=date(2020, 2, 29))
    assert refusal(caught)[1] == "PN0 is only for a child under 4 on the review date; the child was 4 on 2020-02-29."


@pytest.mark.parametrize(
    ("review_date", "msg"),
    [
        # 2021 is a common year: the 5th birthday falls on 1 March, so 28 February is still 4.
        (date(2021, 2, 28), "PN0 is only for a child under 4 on the review date; the child was 4 on 2021-02-28."),
        (date(2021, 3, 1), "PN0 is only for a child under 4 on the review date; the child was 5 on 2021-03-01."),
    ],
)
def test_leap_day_child_is_still_4_on_28_february_2021_and_5_on_1_march_2021(review_date, msg):
    assert rules.check_code("PN5", date_of_birth=BORN_29_FEB_2016, review_date=review_date) == "PN5"
    with pytest.raises(ParticipationCodeContradictsAge) as caught:
        rules.check_code("PN0", date_of_birth=BORN_29_FEB_2016, review_date=review_date)
    assert refusal(caught) == (["body", "code"], msg)


def test_leap_day_child_whose_4th_birthday_falls_in_a_common_year_turns_4_on_1_march():
    # Born 29 Feb 2096: 2100 is not a leap year (a century not divisible by 400).
    born = date(2096, 2, 29)
    assert rules.check_code("PN0", date_of_birth=born, review_date=date(2100, 2, 28)) == "PN0"
    assert rules.check_code("PN1", date_of_birth=born, review_date=date(2100, 3, 1)) == "PN1"
    with pytest.raises(ParticipationCodeContradictsAge) as caught:
        rules.check_code("PN0", date_of_birth=born, review_date=date(2100, 3, 1))
    assert refusal(caught)[1] == "PN0 is only for a child under 4 on the review date; the child was 4 on 2100-03-01."


@pytest.mark.parametrize(
    ("code", "age", "fits"),
    [("PN0", 3, True), ("PN0", 4, False), ("PN7", 4, True), ("PN7", 3, False), ("PN1", 17, True), ("PN8", 10, False)],
)
def test_code_for_age_ok_is_pn0_under_4_and_pn1_to_pn7_from_4(code, age, fits):
    assert rules.code_for_age_ok(code, age) is fits


@pytest.mark.parametrize("code", ["PN8", "pn1", "PN", "", " PN1", "PN1 "])
def test_unknown_code_refused_listing_the_valid_codes(code):
    with pytest.raises(CodeNotOnList) as caught:
        rules.check_code(code, date_of_birth=BORN_10_JUNE_2017, review_date=date(2021, 6, 10))
    loc, msg = refusal(caught)
    assert loc == ["body", "code"]
    assert msg == f"Unknown participation code {code!r}; valid codes are: PN0, PN1, PN2, PN3, PN4, PN5, PN6, PN7."


def test_review_before_birth_refused_on_the_review_date():
    with pytest.raises(BeforeDateOfBirth) as caught:
        rules.check_code("PN0", date_of_birth=BORN_10_JUNE_2017, review_date=date(2017, 6, 9))
    assert refusal(caught) == (
        ["body", "review_date"],
        "The review date 2017-06-09 is before the child's date of birth.",  # the date of birth is never echoed
    )


def test_review_on_the_day_of_birth_takes_pn0():
    assert rules.check_code("PN0", date_of_birth=BORN_10_JUNE_2017, review_date=date(2017, 6, 10)) == "PN0"


# --- Participation rate ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("participated", "reviews", "pct"),
    [
        (6, 19, 31.6),  # 31.578...
        (1, 8, 12.5),
        (1, 3, 33.3),  # 33.333...
        (2, 3, 66.7),  # 66.666...
        (5, 16, 31.3),  # 31.25 exactly: half rounds up
        (1, 16, 6.3),  # 6.25 exactly: half rounds up (float rounding would give 6.2)
        (3, 8, 37.5),
        (0, 7, 0.0),
        (7, 7, 100.0),
        (1, 1000, 0.1),
        (1, 2000, 0.1),  # 0.05 rounds up
        (1, 2001, 0.0),  # 0.0499...
    ],
)
def test_participation_pct_rounds_half_up_to_one_decimal(participated, reviews, pct):
    assert rules.participation_pct(participated, reviews) == pct


def test_participation_pct_of_no_reviews_is_none():
    assert rules.participation_pct(0, 0) is None


@pytest.mark.parametrize(("participated", "reviews"), [(4, 3), (-1, 3), (0, -1)])
def test_participation_pct_refuses_impossible_counts(participated, reviews):
    with pytest.raises(ValueError):
        rules.participation_pct(participated, reviews)


def test_participation_rate_leaves_out_pn0_and_uncoded_and_counts_pn7_as_not_participating():
    codes = ["PN0", "PN0", None, "PN1", "PN2", "PN3", "PN4", "PN5", "PN6", "PN7", "PN7"]
    assert rules.participation_rate(codes) == rules.ParticipationRate(participated=6, reviews=8, pct=75.0)


def test_participation_rate_of_only_under_4s_has_no_pct():
    assert rules.participation_rate(["PN0", None]) == rules.ParticipationRate(participated=0, reviews=0, pct=None)


def test_participation_rate_refuses_an_unknown_code():
    with pytest.raises(ValueError):
        rules.participation_rate(["PN1", "PN9"])


# --- Methods of taking part -----------------------------------------------------------------------


def test_methods_are_the_documented_list_each_with_a_label():
    assert list(rules.METHODS) == [
        "in_person",
        "video",
        "phone",
        "consultation_form",
        "app",
        "advocate",
        "met_iro_before",
        "text_or_social_media",
    ]
    assert all(label.strip() for label in rules.METHODS.values())


def test_methods_de_duplicated_keeping_first_order():
    assert rules.check_methods(["video", "advocate", "video", "in_person", "advocate"]) == (
        "video",
        "advocate",
        "in_person",
    )


def test_no_methods_is_an_empty_tuple():
    assert rules.check_methods([]) == ()


def test_unknown_method_refused_at_its_index():
    with pytest.raises(CodeNotOnList) as caught:
        rules.check_methods(["video", "phone", "carrier_pigeon"])
    loc, msg = refusal(caught)
    assert loc == ["body", "methods", 2]
    assert msg == (
        "Unknown method 'carrier_pigeon'; valid methods are: in_person, video, phone, consultation_form, app, "
        "advocate, met_iro_before, text_or_social_media."
    )


# --- Parents --------------------------------------------------------------------------------------


def test_parent_lists_are_the_documented_keys():
    assert list(rules.PARENT_RELATIONSHIPS) == [
        "mother",
        "father",
        "parent",
        "step_parent",
        "carer",
        "guardian",
        "other",
    ]
    assert list(rules.PARENT_PARTICIPATION) == [
        "attended",
        "views_conveyed",
        "invited_did_not_attend",
        "not_invited",
        "not_appropriate",
    ]


def test_parents_checked_in_order():
    parents = [
        {"relationship": "mother", "participation": "attended"},
        {"relationship": "father", "participation": "not_invited"},
        {"relationship": "mother", "participation": "views_conveyed"},
    ]
    assert rules.check_parents(parents) == (
        rules.Parent("mother", "attended"),
        rules.Parent("father", "not_invited"),
        rules.Parent("mother", "views_conveyed"),
    )


def test_no_parents_is_an_empty_tuple():
    assert rules.check_parents([]) == ()


def test_unknown_relationship_refused_at_its_index_and_field():
    parents = [
        {"relationship": "mother", "participation": "attended"},
        {"relationship": "uncle", "participation": "attended"},
    ]
    with pytest.raises(CodeNotOnList) as caught:
        rules.check_parents(parents)
    loc, msg = refusal(caught)
    assert loc == ["body", "parents", 1, "relationship"]
    assert msg == (
        "Unknown relationship 'uncle'; valid values are: mother, father, parent, step_parent, carer, guardian, other."
    )


def test_unknown_parent_participation_refused_at_its_index_and_field():
    with pytest.raises(CodeNotOnList) as caught:
        rules.check_parents([{"relationship": "carer", "participation": "sent_flowers"}])
    assert refusal(caught)[0] == ["body", "parents", 0, "participation"]


def test_missing_parent_participation_refused_as_required():
    with pytest.raises(CodeNotOnList) as caught:
        rules.check_parents([{"relationship": "guardian"}])
    loc, msg = refusal(caught)
    assert loc == ["body", "parents", 0, "participation"]
    assert msg.startswith("participation is required; valid values are: attended, ")


# --- Feedback forms -------------------------------------------------------------------------------


def test_respondents_channels_and_answers_are_the_documented_keys():
    assert list(rules.RESPONDENTS) == [
        "child",
        "parent",
        "carer",
        "social_worker",
        "supervising_social_worker",
        "guardian",
        "professional",
    ]
    assert list(rules.CHANNELS) == ["paper", "online", "app", "phone", "face_to_face"]
    assert rules.ANSWERS == ("always", "sometimes", "never")


def test_default_questions():
    questions = rules.DEFAULT_QUESTIONS
    assert questions == (
        rules.Question("iro_listens", "My IRO listens to me"),
        rules.Question("understand_care_plan", "I understand my care plan"),
        rules.Question("supported_in_review", "I felt supported in my review"),
        rules.Question("views_taken_into_account", "My views were taken into account"),
    )


def test_respondent_and_channel_accepted_or_refused_on_their_field():
    assert rules.check_respondent("supervising_social_worker") == "supervising_social_worker"
    assert rules.check_channel("face_to_face") == "face_to_face"
    with pytest.raises(CodeNotOnList) as caught:
        rules.check_respondent("neighbour")
    assert refusal(caught)[0] == ["body", "respondent"]
    with pytest.raises(CodeNotOnList) as caught:
        rules.check_channel("fax")
    assert refusal(caught)[0] == ["body", "channel"]


def test_answers_returned_in_question_order_and_questions_may_go_unanswered():
    answers = {"views_taken_into_account": "never", "iro_listens": "always"}
    assert rules.check_answers(answers) == {"iro_listens": "always", "views_taken_into_account": "never"}


def test_unknown_question_refused_at_its_key_listing_the_valid_keys():
    with pytest.raises(CodeNotOnList) as caught:
        rules.check_answers({"iro_listens": "always", "likes_biscuits": "always"})
    loc, msg = refusal(caught)
    assert loc == ["body", "answers", "likes_biscuits"]
    assert msg == (
        "Unknown question 'likes_biscuits'; valid questions are: iro_listens, understand_care_plan, "
        "supported_in_review, views_taken_into_account."
    )


@pytest.mark.parametrize("answer", ["often", "Always", ""])
def test_answer_other_than_always_sometimes_never_refused_at_its_key(answer):
    with pytest.raises(CodeNotOnList) as caught:
        rules.check_answers({"understand_care_plan": answer})
    loc, msg = refusal(caught)
    assert loc == ["body", "answers", "understand_care_plan"]
    assert msg == f"Unknown answer {answer!r} to 'understand_care_plan'; valid answers are: always, sometimes, never."


def test_answers_checked_against_a_configured_question_set():
    questions = rules.question_set([("felt_safe", "I felt safe"), ("iro_listens", "My IRO listens to me")])
    assert rules.check_answers({"felt_safe": "sometimes"}, questions) == {"felt_safe": "sometimes"}
    with pytest.raises(CodeNotOnList) as caught:
        rules.check_answers({"understand_care_plan": "always"}, questions)
    assert refusal(caught)[1] == "Unknown question 'understand_care_plan'; valid questions are: felt_safe, iro_listens."


@pytest.mark.parametrize(
    "pairs",
    [[], [("a", "A"), ("a", "Again")], [("", "No key")], [("no_text", "  ")]],
)
def test_question_set_refuses_empty_duplicate_or_blank(pairs):
    with pytest.raises(ValueError):
        rules.question_set(pairs)


# --- Quarters -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "quarter"),
    [
        (date(2021, 1, 1), "2021-Q1"),
        (date(2021, 3, 31), "2021-Q1"),
        (date(2021, 4, 1), "2021-Q2"),
        (date(2021, 6, 30), "2021-Q2"),
        (date(2021, 7, 1), "2021-Q3"),
        (date(2021, 9, 30), "2021-Q3"),
        (date(2021, 10, 1), "2021-Q4"),
        (date(2021, 12, 31), "2021-Q4"),
        (date(2020, 2, 29), "2020-Q1"),
    ],
)
def test_quarter_of_is_the_calendar_quarter(day, quarter):
    assert rules.quarter_of(day) == quarter


@pytest.mark.parametrize(
    ("quarter", "bounds"),
    [
        ("2020-Q1", (date(2020, 1, 1), date(2020, 3, 31))),
        ("2021-Q2", (date(2021, 4, 1), date(2021, 6, 30))),
        ("2021-Q3", (date(2021, 7, 1), date(2021, 9, 30))),
        ("2021-Q4", (date(2021, 10, 1), date(2021, 12, 31))),
    ],
)
def test_quarter_bounds_are_its_first_and_last_days(quarter, bounds):
    assert rules.quarter_bounds(quarter) == bounds


@pytest.mark.parametrize("quarter", ["2021-Q5", "2021-Q0", "2021Q1", "21-Q1", "2021-q1", ""])
def test_quarter_bounds_refuses_other_shapes(quarter):
    with pytest.raises(ValueError):
        rules.quarter_bounds(quarter)
