"""Route a set of sample expenses through policy.example.yml and print who approves each.

    .venv/bin/python scripts/route_scenarios.py [--policy FILE] [--today YYYY-MM-DD] [--trace]

The organisation (51 people: a CEO and an IT admin, four department heads, eight managers and
their teams, one new joiner whose manager is missing) and
the expenses are built here, deterministically, so the output only changes when the policy or
the routing rules do.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workflows.directory import Directory, Person, Role  # noqa: E402
from workflows.fx import MissingRate, RateTable  # noqa: E402
from workflows.money import Money  # noqa: E402
from workflows.policy import ExpenseFacts, Policy, load_policy  # noqa: E402
from workflows.policy_anomalies import anomaly_flags  # noqa: E402
from workflows.routing import Route, RoutingError, StepKind, plan_route  # noqa: E402

DOMAIN = "acme.test"
TODAY = date(2026, 11, 23)

DEPARTMENTS = {
    # department: (head, role of the head, [(manager, [team members])])
    "Sales": (
        "vp.sales",
        Role.MANAGER,
        [
            ("lee", ["ana", "ben", "cara", "dev", "eli"]),
            ("mia", ["noor", "omar", "pia", "quin", "ravi"]),
        ],
    ),
    "Engineering": (
        "vp.eng",
        Role.MANAGER,
        [
            ("sam", ["tara", "umar", "vera", "wei", "xena"]),
            ("yuki", ["zack", "amir", "bea", "chen", "dina"]),
        ],
    ),
    "Operations": (
        "vp.ops",
        Role.MANAGER,
        [
            ("ivan", ["jade", "kofi", "lina", "marc", "nina"]),
            ("olga", ["pablo", "qiu", "rosa", "siddh", "tom"]),
        ],
    ),
    "Finance": (
        "cfo",
        Role.FINANCE,
        [
            ("fiona", ["ursula", "victor", "yara"]),
            ("gus", ["wanda", "xavi", "zoe"]),
        ],
    ),
}
FINANCE_MANAGERS = {"fiona", "gus"}


def email(name: str) -> str:
    return f"{name}@{DOMAIN}"


def build_directory(today: date = TODAY) -> Directory:
    people = [
        Person(email("ceo"), None, "Executive", Role.ADMIN),
        Person(email("it"), email("ceo"), "Executive", Role.ADMIN),
    ]
    for department, (head, head_role, teams) in DEPARTMENTS.items():
        people.append(Person(email(head), email("ceo"), department, head_role))
        for manager, members in teams:
            role = Role.FINANCE if manager in FINANCE_MANAGERS else Role.MANAGER
            delegate = (email("noor"), today + timedelta(days=10)) if manager == "mia" else (None, None)
            people.append(Person(email(manager), email(head), department, role, delegate[0], delegate[1]))
            people.extend(Person(email(m), email(manager), department, Role.EMPLOYEE) for m in members)
    # a new joiner whose manager has not been added to the directory yet
    people.append(Person(email("newbie"), email("ghost"), "Sales", Role.EMPLOYEE))
    return Directory.from_people(people, source="scenario directory")


def build_rates(today: date = TODAY) -> RateTable:
    table = RateTable()
    for back in range(0, 120):
        day = today - timedelta(days=back)
        table.add("EUR", "USD", day, Decimal("1.08"))
        table.add("USD", "MYR", day, Decimal("4.40"))
        table.add("USD", "JPY", day, Decimal("151.20"))
        if back > 30:  # finance has not imported recent GBP rates
            table.add("GBP", "USD", day, Decimal("1.27"))
    return table


@dataclass(frozen=True)
class Scenario:
    who: str
    amount: str
    currency: str
    category: str
    merchant: str | None = "Acme Air"
    days_ago: int | None = 3
    receipt: bool = True
    customer: str | None = None
    distance: str | None = None
    history: tuple[str, ...] = field(default=())
    last_saturday: bool = False

    def spent_on(self, today: date) -> date | None:
        if self.last_saturday:
            return today - timedelta(days=(today.weekday() - 5) % 7 or 7)
        return today - timedelta(days=self.days_ago) if self.days_ago is not None else None


SCENARIOS = [
    Scenario("ana", "12.50", "USD", "meals", "Noodle Bar"),
    Scenario("ana", "92.10", "USD", "meals", "Steak House"),
    Scenario("ben", "300.00", "MYR", "meals", "Nasi Kandar", days_ago=4),
    Scenario("cara", "400.00", "MYR", "meals", "Restoran Rebung", days_ago=4),
    Scenario("dev", "480.00", "USD", "travel", "Acme Air"),
    Scenario("eli", "1200.00", "USD", "travel", "Acme Air"),
    Scenario("noor", "6200.00", "USD", "travel", "Acme Air", days_ago=10),
    Scenario("omar", "950.00", "EUR", "travel", "Lufthansa"),
    Scenario("pia", "180000", "JPY", "lodging", "Park Hotel Tokyo", days_ago=20),
    Scenario("quin", "40.00", "GBP", "meals", "Pret", days_ago=2),
    Scenario("ravi", "60.00", "USD", "meals", "Diner", last_saturday=True),
    Scenario("siddh", "42.00", "USD", "meals", "Diner", days_ago=None),
    Scenario("tara", "19.99", "USD", "software", "GitHub"),
    Scenario("umar", "620.00", "USD", "software", "JetBrains"),
    Scenario("vera", "67.00", "USD", "mileage", None, distance="100"),
    Scenario("wei", "95.00", "USD", "mileage", None, distance="100"),
    Scenario("xena", "30.00", "USD", "mileage", None),
    Scenario("zack", "180.00", "USD", "client_entertainment", "Sushi Zen", customer="C-1042"),
    Scenario("amir", "180.00", "USD", "client_entertainment", "Sushi Zen"),
    Scenario("bea", "45.00", "USD", "meals", "Lucky Casino Buffet"),
    Scenario("chen", "35.00", "USD", "gifts", "Flower Shop"),
    Scenario("dina", "55.00", "USD", "meals", "Cafe", days_ago=-2),
    Scenario("jade", "55.00", "USD", "meals", "Cafe", days_ago=120),
    Scenario("kofi", "80.00", "USD", "office_supplies", "Staples", receipt=False),
    Scenario("lina", "140.00", "USD", "fuel", "Shell", history=("40.00", "35.00", "45.00", "38.00")),
    Scenario("marc", "20.00", "USD", "meals", "Bakery", history=("5.00", "6.00", "5.50")),
    Scenario("nina", "250.00", "USD", "lodging", "Inn"),
    Scenario("lee", "2400.00", "USD", "travel", "Acme Air"),
    Scenario("vp.sales", "5600.00", "USD", "travel", "Acme Air"),
    Scenario("vp.eng", "800.00", "USD", "training", "Conference Ltd"),
    Scenario("ceo", "1800.00", "USD", "travel", "Acme Air"),
    Scenario("cfo", "300.00", "USD", "travel", "Acme Air"),
    Scenario("fiona", "150.00", "USD", "travel", "Acme Air"),
    Scenario("ursula", "22.00", "USD", "meals", "Cafe"),
    Scenario("newbie", "60.00", "USD", "meals", "Cafe"),
    Scenario("stranger", "60.00", "USD", "meals", "Cafe"),
    Scenario("tom", "8000.00", "USD", "travel", "Acme Air", days_ago=5),
]


def run(policy: Policy, today: date, show_trace: bool) -> int:
    directory = build_directory(today)
    rates = build_rates(today)
    rows: list[tuple[str, ...]] = []
    traces: list[tuple[str, tuple[str, ...]]] = []
    for number, scenario in enumerate(SCENARIOS, start=1):
        expense = ExpenseFacts(
            amount=Money(Decimal(scenario.amount), scenario.currency),
            category=scenario.category,
            merchant=scenario.merchant,
            spent_on=scenario.spent_on(today),
            has_receipt=scenario.receipt,
            customer_id=scenario.customer,
            submitter_email=email(scenario.who),
            distance=Decimal(scenario.distance) if scenario.distance else None,
        )
        history = [Money(Decimal(h), scenario.currency) for h in scenario.history]
        try:
            flags = anomaly_flags(expense, policy, history=history, today=today, rates=rates)
            route = plan_route(expense, directory, policy, today=today, rates=rates, flags=flags)
        except RoutingError as exc:
            outcome = "error: " + exc.user_message + (" [admins notified]" if exc.notify_admins else "")
            rows.append((str(number), scenario.who, expense.amount.format(), scenario.category, "-", outcome))
            continue
        except MissingRate as exc:
            rows.append(
                (str(number), scenario.who, expense.amount.format(), scenario.category, "-", f"error: {exc}")
            )
            continue
        notes = [f"{'BLOCK' if v.blocking else 'finding'} {v.rule}" for v in route.violations]
        notes += [f"flag {f.rule}" for f in route.flags]
        if route.auto_approved_rule:
            notes.insert(0, f"auto: {route.auto_approved_rule}")
        route_text = (
            "refused" if route.refused else ("approved by policy" if route.auto_approved else _steps(route))
        )
        rows.append(
            (
                str(number),
                scenario.who,
                expense.amount.format(),
                scenario.category,
                route_text,
                "; ".join(notes),
            )
        )
        traces.append((f"#{number} {scenario.who}", route.trace))

    header = ("#", "submitter", "amount", "category", "route", "auto-approval / findings / flags")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(5)]
    line = "  ".join(f"{header[i]:<{widths[i]}}" for i in range(5)) + "  " + header[5]
    print(
        f"{len(directory)} people, {len(SCENARIOS)} expenses, policy currency {policy.company_currency}, today {today}"
    )
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(f"{row[i]:<{widths[i]}}" for i in range(5)) + "  " + row[5])
    if show_trace:
        for name, trace in traces:
            print(f"\n{name}")
            for entry in trace:
                print(f"  {entry}")
    return 0


def _steps(route: Route) -> str:
    parts = []
    for step in route.steps:
        who = "finance" if step.kind is StepKind.FINANCE else step.approvers[0].split("@")[0]
        parts.append(who)
    return " → ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--policy", default=str(ROOT / "policy.example.yml"), help="policy file to use")
    parser.add_argument("--today", default=TODAY.isoformat(), help="day to route on (YYYY-MM-DD)")
    parser.add_argument("--trace", action="store_true", help="print each route's trace too")
    args = parser.parse_args(argv)
    path = Path(args.policy)
    policy = load_policy(path.read_text(encoding="utf-8"), source=path.name)
    return run(policy, date.fromisoformat(args.today), args.trace)


if __name__ == "__main__":
    raise SystemExit(main())
