"""The gaps of issue 16 between docs/policy.md and what the policy did, one test (or more) each."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli_policy import policy as policy_cli
from workflows.directory import Directory
from workflows.fx import RateTable
from workflows.money import Money
from workflows.policy import ExpenseFacts, default_policy, load_policy
from workflows.policy_anomalies import OtherClaim
from workflows.reminders import escalation_target
from workflows.routing import (
    NoApprover,
    StepKind,
    deciders,
    may_decide,
    plan_route,
    route_claim,
)

TODAY = date(2026, 11, 27)  # a Friday
THURSDAY = date(2026, 11, 26)
SATURDAY = date(2026, 11, 21)

ORG = """\
email,manager_email,department,role,delegate_email,delegate_until
ceo@acme.test,,Executive,admin,,
cfo@acme.test,ceo@acme.test,Finance,finance,,
vp@acme.test,ceo@acme.test,Sales,manager,,
lead@acme.test,vp@acme.test,Sales,manager,vp@acme.test,2026-11-30
ana@acme.test,lead@acme.test,Sales,employee,,
bo@acme.test,lead@acme.test,Sales,employee,,
"""

RATES = RateTable.from_csv_text(
    "date,from,to,rate\n"
    "2026-11-25,EUR,USD,2.00\n"  # the day before: a different rate, never used for Thursday
    "2026-11-26,EUR,USD,1.10\n"
    "2026-11-26,MYR,USD,0.25\n",
    source="rates.csv",
)


def org(text: str = ORG) -> Directory:
    return Directory.from_csv_text(text, source="org.csv")


def claim(
    amount: str,
    category: str = "meals",
    *,
    who: str = "ana",
    currency: str = "USD",
    merchant: str | None = "Noodle Bar",
    on: date = THURSDAY,
) -> ExpenseFacts:
    return ExpenseFacts(
        amount=Money(Decimal(amount), currency),
        category=category,
        merchant=merchant,
        spent_on=on,
        has_receipt=True,
        customer_id="C-1",
        submitter_email=f"{who}@acme.test",
    )


def other(
    amount: str, currency: str = "USD", *, who: str = "ana", ref: str = "EXP-1", **kw: object
) -> OtherClaim:
    return OtherClaim(
        ref=ref,
        submitter_email=f"{who}@acme.test",
        amount=Money(Decimal(amount), currency),
        category=str(kw.get("category", "meals")),
        spent_on=kw.get("on", THURSDAY),  # type: ignore[arg-type]
        merchant=kw.get("merchant", "Sushi Place"),  # type: ignore[arg-type]
        counts=bool(kw.get("counts", True)),
    )


AUTO = default_policy().model_copy(update={"auto_approve_below": Decimal("25.00")})


# 1. daily limits -------------------------------------------------------------------------------


def test_a_single_claim_over_the_daily_limit_is_a_finding() -> None:
    taxis = load_policy("company_currency: USD\ncategories:\n  taxi: {daily_limit: 50.00}\n")
    route = route_claim(claim("60.00", "taxi"), org(), taxis, today=TODAY)
    assert [(v.rule, v.message) for v in route.violations] == [
        ("over_daily_limit", "Taxi are limited to 50.00 USD per day; this one alone is 60.00 USD.")
    ]
    meals = route_claim(claim("110.00"), org(), default_policy(), today=TODAY)
    assert [v.rule for v in meals.violations] == ["over_limit", "over_daily_limit"]


def test_claims_of_one_day_in_other_currencies_add_up_at_that_days_rate() -> None:
    # 30 EUR at 1.10 = 33.00 USD, 100 MYR at 0.25 = 25.00 USD: 58.00 USD before this claim
    others = [other("30.00", "EUR"), other("100.00", "MYR", ref="EXP-2")]
    route = route_claim(claim("42.01"), org(), default_policy(), today=TODAY, rates=RATES, others=others)
    assert [(v.rule, v.message) for v in route.violations] == [
        (
            "over_daily_limit",
            "Meals are limited to 100.00 USD per day; with the other meals that day (58.00 USD) "
            "this makes 100.01 USD.",
        )
    ]
    under = route_claim(claim("42.00"), org(), default_policy(), today=TODAY, rates=RATES, others=others)
    assert under.violations == ()
    # other days, other people, other categories and claims that do not count are left out
    noise = [
        other("90.00", on=THURSDAY - timedelta(days=1)),
        other("90.00", who="bo"),
        other("90.00", category="travel"),
        other("90.00", counts=False, merchant="Sushi Bar"),
    ]
    assert (
        route_claim(
            claim("42.00"), org(), default_policy(), today=TODAY, rates=RATES, others=noise
        ).violations
        == ()
    )


# 2. no approval by policy with an anomaly flag ---------------------------------------------------


def test_a_weekend_or_holiday_claim_is_not_approved_by_policy() -> None:
    weekday = route_claim(claim("10.00"), org(), AUTO, today=TODAY)
    assert weekday.auto_approved
    weekend = route_claim(claim("10.00", on=SATURDAY), org(), AUTO, today=TODAY)
    assert not weekend.auto_approved and [f.rule for f in weekend.flags] == ["weekend"]
    assert "no auto-approval: flagged (weekend)" in weekend.trace
    holidays = AUTO.model_copy(
        update={"reminders": AUTO.reminders.model_copy(update={"holidays": [THURSDAY]})}
    )
    holiday = route_claim(claim("10.00"), org(), holidays, today=TODAY)
    assert not holiday.auto_approved and [f.rule for f in holiday.flags] == ["holiday"]


def test_policy_route_flags_a_weekend_claim(tmp_path: Path) -> None:
    (tmp_path / "org.csv").write_text(ORG)
    (tmp_path / "policy.yml").write_text("company_currency: USD\nauto_approve_below: 25.00\n")
    result = CliRunner().invoke(
        policy_cli,
        [
            "route",
            "--policy",
            str(tmp_path / "policy.yml"),
            "--directory",
            str(tmp_path / "org.csv"),
            "--submitter",
            "ana@acme.test",
            "--amount",
            "10",
            "--category",
            "meals",
            "--date",
            SATURDAY.isoformat(),
            "--today",
            TODAY.isoformat(),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "route: manager (lead@acme.test) → finance" in result.output
    assert "flag: Spent on a Saturday (2026-11-21)." in result.output


# 7. possible duplicates, also across colleagues ---------------------------------------------------


def test_a_possible_duplicate_is_never_approved_by_policy() -> None:
    again = [other("10.00", merchant="NOODLE-BAR", ref="EXP-7", counts=False)]
    route = route_claim(claim("10.00"), org(), AUTO, today=TODAY, others=again)
    assert not route.auto_approved
    assert [(f.rule, f.message) for f in route.flags] == [
        ("possible_duplicate", "Possible duplicate of EXP-7 (same merchant, date and total).")
    ]


def test_one_shared_bill_claimed_by_two_colleagues_is_flagged() -> None:
    colleague = [other("10.00", who="bo", merchant="Noodle Bar", ref="EXP-3")]
    route = route_claim(claim("10.00"), org(), AUTO, today=TODAY, others=colleague)
    assert not route.auto_approved
    assert [f.message for f in route.flags] == [
        "Possibly the same bill as EXP-3 claimed by bo@acme.test (same merchant, date and total)."
    ]
    different = [other("10.00", who="bo", merchant="Noodle House", ref="EXP-3")]
    assert route_claim(claim("10.00"), org(), AUTO, today=TODAY, others=different).auto_approved


# 3. separation of duties through delegation -------------------------------------------------------


def test_a_delegate_who_approves_another_step_cannot_act_on_this_claim() -> None:
    directory = org()
    route = route_claim(claim("1500.00", "travel"), directory, default_policy(), today=TODAY)
    manager, skip, finance = route.steps
    # lead@ is away and their delegate may not act here: the step also goes to the next one up
    assert manager.approvers == ("lead@acme.test", "ceo@acme.test") and skip.approvers == ("vp@acme.test",)
    assert (
        "manager: lead@acme.test's delegate vp@acme.test approves the manager's manager step of this claim, "
        "so cannot act for lead@acme.test on it (nobody decides two steps of one claim)"
    ) in route.trace
    assert (
        "manager: while lead@acme.test is away, the step also goes to ceo@acme.test (the next one up who "
        "approves no other step of this claim)"
    ) in route.trace
    verdict = may_decide(
        manager, "vp@acme.test", "ana@acme.test", directory, today=TODAY, other_steps=[skip, finance]
    )
    assert not verdict and "nobody decides two steps of one claim" in verdict.reason
    assert deciders(manager, "ana@acme.test", directory, today=TODAY, other_steps=[skip, finance]) == (
        "lead@acme.test",
        "ceo@acme.test",
    )
    # someone who decided one step (in their own name or as a delegate) never decides another
    assert not may_decide(
        skip, "vp@acme.test", "ana@acme.test", directory, today=TODAY, decided_by=["VP@acme.test"]
    )
    # below the threshold vp@ approves no other step, so may act for lead@
    small = route_claim(claim("500.00", "travel"), directory, default_policy(), today=TODAY)
    assert (
        may_decide(
            small.steps[0],
            "vp@acme.test",
            "ana@acme.test",
            directory,
            today=TODAY,
            other_steps=small.steps[1:],
        ).on_behalf_of
        == "lead@acme.test"
    )


def test_with_no_one_above_the_admins_stand_in_for_an_absent_approver() -> None:
    directory = org(
        ORG.replace("ceo@acme.test,,Executive,admin,,", "ceo@acme.test,,Executive,manager,vp@acme.test,")
        + "it@acme.test,ceo@acme.test,IT,admin,,\n"
    )
    route = route_claim(claim("200.00", "travel", who="vp"), directory, default_policy(), today=TODAY)
    assert route.steps[0].approvers == ("ceo@acme.test", "it@acme.test")
    assert (
        "manager: while ceo@acme.test is away, the step also goes to it@acme.test (the admins)" in route.trace
    )


def test_escalation_skips_whoever_approves_another_step() -> None:
    directory = org()
    later = TODAY + timedelta(days=5)  # lead@'s delegation has ended: lead@ alone has the manager step
    route = route_claim(claim("1500.00", "travel"), directory, default_policy(), today=later)
    escalation = escalation_target(route, 0, directory, "ana@acme.test", policy=default_policy())
    assert escalation.to == ("ceo@acme.test",)
    assert "vp@acme.test approves another step of this claim" in escalation.reason


# 4. the finance step in a one-person finance team -------------------------------------------------


ONE_FINANCE = """\
email,manager_email,department,role
ceo@acme.test,,Executive,admin
it@acme.test,ceo@acme.test,Executive,admin
fin@acme.test,ceo@acme.test,Finance,finance
ana@acme.test,fin@acme.test,Finance,employee
bob@acme.test,ceo@acme.test,Sales,manager
"""


def test_the_only_finance_member_never_reviews_a_claim_they_approved_or_made() -> None:
    directory = org(ONE_FINANCE)
    reports = plan_route(claim("50.00", who="ana"), directory, default_policy(), today=TODAY)
    assert [(s.kind, s.approvers) for s in reports.steps] == [
        (StepKind.MANAGER, ("fin@acme.test",)),
        (StepKind.FINANCE, ("ceo@acme.test", "it@acme.test")),
    ]
    assert (
        "finance: fin@acme.test already approves an earlier step of this claim, so cannot also review it "
        "(four eyes)" in reports.trace
    )
    own = plan_route(claim("50.00", who="fin"), directory, default_policy(), today=TODAY)
    assert own.steps[-1].approvers == ("it@acme.test",)  # ceo@ approves the manager step
    other_team = plan_route(claim("50.00", who="bob"), directory, default_policy(), today=TODAY)
    assert other_team.steps[-1].approvers == ("fin@acme.test",)


def test_with_no_one_left_for_the_finance_step_the_claim_is_not_routed() -> None:
    directory = org(
        "email,manager_email,department,role\nfin@acme.test,,Ops,finance\nana@acme.test,fin@acme.test,Ops,employee\n"
    )
    with pytest.raises(NoApprover) as raised:
        plan_route(claim("50.00", who="ana"), directory, default_policy(), today=TODAY)
    assert "fin@acme.test (who approves an earlier step" in raised.value.user_message


# 5. prohibited merchants match whole words ----------------------------------------------------------


@pytest.mark.parametrize(
    ("entries", "merchant", "matched"),
    [
        (["casino"], "Casinotti's Trattoria", None),
        (["casino"], "LUCKY-CASINO Resort", "casino"),
        (["Lucky Casino"], "lucky   casino!", "Lucky Casino"),
        (["Club 88"], "Club 880", None),
        (["Club 88"], "The Club-88 Bar", "Club 88"),
        (["casino*"], "Casinos Royale", "casino*"),
        (["*casino"], "LuckyCasino", "*casino"),
        (["bar"], "Barbara's Bakery", None),
    ],
)
def test_prohibited_merchants_match_whole_words(
    entries: list[str], merchant: str, matched: str | None
) -> None:
    policy = load_policy(
        "company_currency: USD\nprohibited_merchants: [" + ", ".join(f'"{e}"' for e in entries) + "]\n"
    )
    assert policy.prohibited_merchant(merchant) == matched


def test_a_prohibited_entry_needs_a_word() -> None:
    from workflows.policy import PolicyError

    with pytest.raises(PolicyError, match="has no letter or digit"):
        load_policy('company_currency: USD\nprohibited_merchants: ["*"]\n')


# 6. check-directory warns about everyone who cannot get a route -----------------------------------


def test_check_directory_warns_about_people_without_a_route(tmp_path: Path) -> None:
    path = tmp_path / "org.csv"
    path.write_text(
        "email,manager_email,department,role\n"
        "ceo@acme.test,,Executive,admin\n"
        "contractor@acme.test,,Sales,employee\n"
        "lead@acme.test,ghost@acme.test,Sales,manager\n"
        "ana@acme.test,lead@acme.test,Sales,employee\n"
        "fin@acme.test,ceo@acme.test,Finance,finance\n"
    )
    result = CliRunner().invoke(policy_cli, ["check-directory", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "  top of the organisation: ceo@acme.test" in lines
    assert (
        f"warning: {path} line 3: contractor@acme.test has no manager and no reports, so is not the top of "
        "the organisation and cannot submit expenses; give them a manager"
    ) in lines
    assert (
        f"warning: {path} line 4: manager ghost@acme.test of lead@acme.test is not in the directory" in lines
    )
    assert (
        f"warning: {path} line 5: the manager chain of ana@acme.test (ana@acme.test → lead@acme.test → "
        "ghost@acme.test) never reaches the top of the organisation: ghost@acme.test is not in the directory, "
        "so levels above lead@acme.test are left to the finance review"
    ) in lines


def test_check_directory_refuses_a_loop(tmp_path: Path) -> None:
    path = tmp_path / "org.csv"
    path.write_text(
        "email,manager_email,department,role\nceo@acme.test,,X,admin\na@acme.test,b@acme.test,X,employee\n"
        "b@acme.test,a@acme.test,X,employee\n"
    )
    result = CliRunner().invoke(policy_cli, ["check-directory", str(path)])
    assert result.exit_code == 1
    assert "manager cycle a@acme.test → b@acme.test → a@acme.test" in result.output
