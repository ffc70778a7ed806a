from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflows.fx import MissingRate, fixed_rates
from workflows.money import Money
from workflows.policy import (
    CategoryRule,
    ExpenseFacts,
    Level,
    LevelApprover,
    Policy,
    PolicyError,
    Reminders,
    Violation,
    default_policy,
    evaluate,
    is_billable,
    load_policy,
    mileage_amount,
    summary,
)

TODAY = date(2026, 11, 23)

POLICY_YML = """\
company_currency: USD
receipt_required_above: 75.00
max_age_days: 90
prohibited_merchants: [Lucky Casino, "Club 88"]
prohibited_categories: [gifts]
categories:
  meals:
    limit: 75.00
    daily_limit: 100.00
  travel: {}
  mileage:
    rate_per_unit: 0.67
    unit: mile
  client_entertainment:
    limit: 250
    requires_customer: true
    billable: true
  gifts: {}
  software:
    limit: 500
    receipt_required_above: 0
customers:
  acme-internal:
    billable: false
"""


@pytest.fixture
def policy() -> Policy:
    return load_policy(POLICY_YML)


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


def facts(amount: Money | str = "40.00", **changes: object) -> ExpenseFacts:
    base = ExpenseFacts(
        amount=usd(amount) if isinstance(amount, str) else amount,
        category="meals",
        merchant="Noodle Bar",
        spent_on=date(2026, 11, 20),
        has_receipt=True,
        submitter_email="ana@acme.test",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


RATES = fixed_rates({("MYR", "USD"): Decimal("0.2250"), ("EUR", "USD"): Decimal("1.08")})

# one row per situation: the expense and the (rule, blocking, message) it yields
CASES: list[tuple[str, ExpenseFacts, list[tuple[str, bool, str]]]] = [
    ("clean meal", facts(), []),
    (
        "meal over the per-expense limit",
        facts("92.10"),
        [
            ("over_limit", False, "Meals are limited to 75.00 USD per expense; this one is 92.10 USD."),
        ],
    ),
    ("meal exactly at the limit", facts("75.00"), []),
    (
        "foreign meal converted before comparing",
        facts(Money(Decimal("400.00"), "MYR")),
        [
            (
                "over_limit",
                False,
                "Meals are limited to 75.00 USD per expense; this one is 90.00 USD (400.00 MYR).",
            ),
        ],
    ),
    (
        "foreign meal below the limit once converted (300 MYR is 67.50 USD)",
        facts(Money(Decimal("300.00"), "MYR")),
        [],
    ),
    (
        "no receipt above the threshold",
        facts("80.00", category="travel", has_receipt=False),
        [
            (
                "receipt_required",
                False,
                "A receipt is required above 75.00 USD; this expense is 80.00 USD. Attach a photo or PDF of the receipt.",
            )
        ],
    ),
    ("no receipt below the threshold", facts("75.00", category="travel", has_receipt=False), []),
    (
        "category override of the receipt threshold",
        facts("9.99", category="software", has_receipt=False),
        [
            (
                "receipt_required",
                False,
                "A receipt is required above 0.00 USD; this expense is 9.99 USD. Attach a photo or PDF of the receipt.",
            )
        ],
    ),
    (
        "future date",
        facts(spent_on=date(2026, 11, 24)),
        [("future_date", True, "The date 2026-11-24 is in the future; check the receipt date.")],
    ),
    ("exactly at the maximum age", facts(spent_on=date(2026, 8, 25)), []),
    (
        "too old",
        facts(spent_on=date(2026, 8, 24)),
        [
            (
                "too_old",
                True,
                "Expenses must be claimed within 90 days; this one is from 2026-08-24, 91 days ago.",
            )
        ],
    ),
    (
        "zero amount",
        facts("0.00"),
        [("invalid_amount", True, "The total must be more than zero (got 0.00 USD).")],
    ),
    ("no date", facts(spent_on=None), [("date_missing", True, "Add the date the money was spent.")]),
    (
        "prohibited merchant, any case and punctuation",
        facts(merchant="LUCKY-CASINO Resort"),
        [
            (
                "prohibited_merchant",
                True,
                "Expenses at LUCKY-CASINO Resort cannot be reimbursed (“Lucky Casino” is on the prohibited list).",
            )
        ],
    ),
    (
        "prohibited category",
        facts(category="Gifts"),
        [("prohibited_category", True, "Gifts expenses cannot be reimbursed under the company policy.")],
    ),
    (
        "unknown category",
        facts(category="yacht"),
        [
            (
                "unknown_category",
                True,
                "“yacht” is not an expense category; choose one of: Meals, Travel, Mileage, "
                "Client entertainment, Gifts, Software.",
            )
        ],
    ),
    (
        "client entertainment without a customer",
        facts("120.00", category="Client Entertainment"),
        [
            (
                "customer_required",
                True,
                "Client entertainment expenses must name the customer they were for.",
            )
        ],
    ),
    (
        "client entertainment with a customer",
        facts("120.00", category="client_entertainment", customer_id="C-1"),
        [],
    ),
    (
        "blocking findings come before the others",
        facts("300.00", category="client_entertainment", has_receipt=False, spent_on=date(2027, 1, 1)),
        [
            ("future_date", True, "The date 2027-01-01 is in the future; check the receipt date."),
            (
                "customer_required",
                True,
                "Client entertainment expenses must name the customer they were for.",
            ),
            (
                "over_limit",
                False,
                "Client entertainment are limited to 250.00 USD per expense; this one is 300.00 USD.",
            ),
            (
                "receipt_required",
                False,
                "A receipt is required above 75.00 USD; this expense is 300.00 USD. Attach a photo or PDF of the receipt.",
            ),
        ],
    ),
    (
        "mileage within the rate",
        facts("67.00", category="mileage", distance=Decimal(100)),
        [],
    ),
    (
        "mileage above the rate",
        facts("70.00", category="mileage", distance=Decimal(100)),
        [
            (
                "over_mileage_rate",
                False,
                "Mileage is paid at 0.67 USD per mile; 100 miles come to at most 67.00 USD, this claim is 70.00 USD.",
            )
        ],
    ),
    (
        "mileage without a distance",
        facts("20.00", category="mileage"),
        [("distance_missing", False, "Mileage is paid per mile; say how many miles were driven.")],
    ),
]


@pytest.mark.parametrize(("name", "expense", "expected"), CASES, ids=[c[0] for c in CASES])
def test_evaluate(
    policy: Policy, name: str, expense: ExpenseFacts, expected: list[tuple[str, bool, str]]
) -> None:
    found = evaluate(expense, policy, today=TODAY, rates=RATES)
    assert [(v.rule, v.blocking, v.message) for v in found] == expected


@pytest.mark.parametrize(
    ("other", "expected"),
    [
        (None, []),
        (usd("60.00"), []),
        (
            usd("60.01"),
            [
                Violation(
                    "over_daily_limit",
                    "Meals are limited to 100.00 USD per day; with the other meals that day (60.01 USD) "
                    "this makes 100.01 USD.",
                    False,
                )
            ],
        ),
        (
            Money(Decimal("100.00"), "EUR"),
            [
                Violation(
                    "over_daily_limit",
                    "Meals are limited to 100.00 USD per day; with the other meals that day (108.00 USD) "
                    "this makes 148.00 USD.",
                    False,
                )
            ],
        ),
    ],
)
def test_daily_limit_adds_the_other_expenses_of_the_day(
    policy: Policy, other: Money | None, expected: list[Violation]
) -> None:
    assert evaluate(facts("40.00"), policy, today=TODAY, rates=RATES, same_day_total=other) == expected


def test_missing_rate_is_an_error_never_one_to_one(policy: Policy) -> None:
    with pytest.raises(MissingRate) as err:
        evaluate(facts(Money(Decimal("50"), "JPY")), policy, today=TODAY, rates=RATES)
    assert (
        str(err.value)
        == "No JPY→USD rate for 2026-11-20: ask finance to fetch the reference rates (expensebot fx update) or import rates (expensebot fx import)"
    )
    with pytest.raises(MissingRate):
        evaluate(facts(Money(Decimal("50"), "MYR")), policy, today=TODAY)


def test_billable(policy: Policy) -> None:
    entertainment = facts(category="client_entertainment", customer_id="C-9")
    assert is_billable(entertainment, policy)
    assert not is_billable(replace(entertainment, customer_id="acme-internal"), policy)
    assert not is_billable(replace(entertainment, customer_id=None), policy)
    assert not is_billable(replace(entertainment, category="meals"), policy)


def test_mileage_amount(policy: Policy) -> None:
    assert mileage_amount(Decimal("123.4"), policy) == usd("82.68")
    with pytest.raises(PolicyError, match=r"categories\.meals has no rate_per_unit"):
        mileage_amount(Decimal(1), policy, "meals")


# --- loading -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "company_currency: USD\ncategories:\n  meals:\n    limit: 75 dollars\n",
            "policy.yml line 4: categories.meals.limit: '75 dollars' is not an amount",
        ),
        ("receipt_required_above: 10\n", "policy.yml line 1: company_currency: is required"),
        (
            "company_currency: USD\nmax_age_days: 9.5\n",
            "policy.yml line 2: max_age_days: '9.5' is not a whole number",
        ),
        (
            "company_currency: USD\nmax_age_days: 0\n",
            "policy.yml line 2: max_age_days: '0': must be greater than or equal to 1",
        ),
        (
            "company_currency: USD\nreceipt_required_abov: 3\n",
            "policy.yml line 2: receipt_required_abov: unknown setting 'receipt_required_abov'; "
            "did you mean 'receipt_required_above'?",
        ),
        (
            "company_currency: dollars\n",
            "policy.yml line 1: company_currency: 'dollars' is not an ISO 4217 currency code",
        ),
        (
            "company_currency: USD\napproval_levels:\n  - above: 5000\n    approver: department_head\n"
            "  - above: 1000\n    approver: manager_of_manager\n",
            "policy.yml line 2: approval_levels: approval levels must go up in amount: 1000 comes after 5000",
        ),
        (
            "company_currency: USD\napproval_levels:\n  - above: 1000\n    approver: ceo\n",
            "policy.yml line 4: approval_levels[0].approver: 'ceo' is not one of "
            "'manager_of_manager' or 'department_head'",
        ),
        (
            "company_currency: USD\ncategories:\n  mileage:\n    rate_per_unit: 0.5\n",
            "policy.yml line 3: categories.mileage: rate_per_unit needs a unit: km or mile",
        ),
        (
            "company_currency: USD\ncategories:\n  Meals Out: {}\n",
            "policy.yml line 2: categories: category name 'Meals Out' must be lower case",
        ),
        (
            "company_currency: USD\ncompany_currency: EUR\n",
            "policy.yml line 2: company_currency is set twice",
        ),
        ("company_currency: [USD\n", "policy.yml line 2: this is not valid YAML"),
        ("", "policy.yml: the policy is empty"),
        ("company_currency: USD\nx: &a [*a]\n", "policy.yml line 2: an alias refers to itself"),
        ("company_currency: USD\n[a]: 1\n", "policy.yml line 2: keys must be plain names"),
        (
            "company_currency: USD\ncategories:\n  meals: {}\n  ~: {}\n",
            "policy.yml line 4: '~' is not a setting name",
        ),
        ("- a\n- b\n", "policy.yml line 1: the policy must be a mapping"),
        (
            "company_currency: USD\nreceipt_required_above: -5\n",
            "policy.yml line 2: receipt_required_above: '-5' must not be negative",
        ),
        (
            "company_currency: USD\nreminders:\n  after_working_hours: soon\n",
            "policy.yml line 3: reminders.after_working_hours: 'soon' is not a whole number",
        ),
        (
            "company_currency: USD\nanomalies: yes\n",
            "policy.yml line 2: anomalies: expected a mapping of settings, not 'True'",
        ),
    ],
)
def test_load_errors_name_the_line_and_setting(text: str, message: str) -> None:
    with pytest.raises(PolicyError) as err:
        load_policy(text)
    assert str(err.value).startswith(message), str(err.value)


def test_anchors_and_merge_keys_work() -> None:
    loaded = load_policy(
        "company_currency: USD\ncategories:\n"
        "  meals: &meal {limit: 75.00, daily_limit: 100.00}\n"
        "  team_meals:\n"
        "    <<: *meal\n"
        "    limit: 50.00\n"
    )
    assert loaded.categories["team_meals"].limit == Decimal("50.00")
    assert loaded.categories["team_meals"].daily_limit == Decimal("100.00")


def test_alias_bombs_are_refused() -> None:
    levels = ["a: &a [x,x,x,x,x,x,x,x,x,x]"]
    for name, below in zip("bcde", "abcd", strict=True):
        levels.append(f"{name}: &{name} [" + ",".join([f"*{below}"] * 10) + "]")
    with pytest.raises(PolicyError, match=r"the policy is too large \(or repeats itself through aliases\)"):
        load_policy("company_currency: USD\n" + "\n".join(levels) + "\n")


def test_customer_ids_may_be_numbers() -> None:
    loaded = load_policy("company_currency: USD\ncustomers:\n  1042: {billable: false}\n")
    assert not loaded.customers["1042"].billable


def test_amounts_are_exact_decimals(policy: Policy) -> None:
    loaded = load_policy("company_currency: usd\nreceipt_required_above: 0.1\nauto_approve_below: 1,000.50\n")
    assert loaded.company_currency == "USD"
    assert loaded.receipt_required_above == Decimal("0.1")
    assert loaded.auto_approve_below == Decimal("1000.50")
    assert policy.categories["client_entertainment"].limit == Decimal(250)


def test_omitted_settings_take_the_defaults() -> None:
    loaded = load_policy("company_currency: EUR\n")
    default = default_policy("EUR")
    assert loaded == default
    assert loaded.receipt_required_above == Decimal("75.00")
    assert loaded.max_age_days == 90
    assert [(lvl.above, lvl.approver.value) for lvl in loaded.approval_levels] == [
        (Decimal("1000.00"), "manager_of_manager"),
        (Decimal("5000.00"), "department_head"),
    ]
    assert loaded.reminders.after_working_hours == 24
    assert loaded.reminders.escalate_after_days == 3
    assert loaded.auto_approve_below is None


def test_summary_mentions_the_main_settings() -> None:
    text = summary(default_policy())
    assert "company currency USD" in text
    assert "receipts required above 75.00 USD" in text
    assert "above 1,000.00 USD: manager of manager" in text
    assert "no auto-approval" in text


def test_source_name_appears_in_errors() -> None:
    with pytest.raises(PolicyError, match=r"^acme-policy.yaml line 1: "):
        load_policy("company_currency: 12\n", source="acme-policy.yaml")


def test_blocking_findings_are_reported_even_without_a_rate(policy: Policy) -> None:
    found = evaluate(facts(Money(Decimal("50"), "JPY"), merchant="Lucky Casino"), policy, today=TODAY)
    assert [v.rule for v in found] == ["prohibited_merchant"]


def test_category_options_leave_out_prohibited_ones(policy: Policy) -> None:
    assert policy.category_options() == [
        ("meals", "Meals"),
        ("travel", "Travel"),
        ("mileage", "Mileage"),
        ("client_entertainment", "Client entertainment"),
        ("software", "Software"),
    ]


def test_policy_to_yaml_round_trips_the_example_and_the_default(policy: Policy) -> None:
    from workflows.policy import policy_to_yaml

    for original in (policy, default_policy(), default_policy("JPY")):
        assert load_policy(policy_to_yaml(original)) == original
    assert "history_factor: 3\n" in policy_to_yaml(default_policy())


_amounts = st.decimals(min_value=Decimal(0), max_value=Decimal("100000"), places=2)


@st.composite
def _category_rules(draw: st.DrawFn) -> CategoryRule:
    limit = draw(st.one_of(st.none(), _amounts))
    daily = draw(st.one_of(st.none(), _amounts.filter(lambda a: limit is None or a >= limit)))
    mileage = draw(st.booleans())
    return CategoryRule(
        label=draw(
            st.one_of(
                st.none(),
                st.text(
                    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=20
                ),
            )
        ),
        limit=limit,
        daily_limit=daily,
        receipt_required_above=draw(st.one_of(st.none(), _amounts)),
        requires_customer=draw(st.booleans()),
        billable=draw(st.booleans()),
        auto_approve=draw(st.booleans()),
        prohibited=draw(st.booleans()),
        rate_per_unit=draw(_amounts) if mileage else None,
        unit=draw(st.sampled_from(["km", "mile"])) if mileage else None,
    )


@st.composite
def _policies(draw: st.DrawFn) -> Policy:
    thresholds = sorted(draw(st.sets(_amounts, max_size=3)))
    return Policy(
        company_currency=draw(st.sampled_from(["USD", "EUR", "JPY", "KWD"])),
        categories=draw(
            st.dictionaries(
                st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True),
                _category_rules(),
                min_size=1,
                max_size=4,
            )
        ),
        receipt_required_above=draw(_amounts),
        max_age_days=draw(st.integers(min_value=1, max_value=3650)),
        approval_levels=[
            Level(above=a, approver=draw(st.sampled_from(list(LevelApprover)))) for a in thresholds
        ],
        auto_approve_below=draw(st.one_of(st.none(), _amounts)),
        prohibited_merchants=draw(
            st.lists(
                st.text(
                    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs")),
                    min_size=1,
                    max_size=12,
                ).filter(lambda text: re.search(r"[^\W_]", text) is not None),  # a word to match
                max_size=3,
            )
        ),
        reminders=Reminders(
            after_working_hours=draw(st.integers(min_value=1, max_value=200)),
            escalate_after_days=draw(st.integers(min_value=1, max_value=30)),
            timezone=draw(st.sampled_from(["UTC", "Asia/Kuala_Lumpur", "America/New_York"])),
            holidays=draw(st.lists(st.dates(), max_size=3)),
        ),
    )


@settings(max_examples=150, deadline=None)
@given(_policies())
def test_any_policy_survives_yaml(original: Policy) -> None:
    from workflows.policy import policy_to_yaml

    assert load_policy(policy_to_yaml(original)) == original
