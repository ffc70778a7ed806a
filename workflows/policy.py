"""The expense policy: categories and limits, receipts, dates, approval levels, reminders.

A policy is YAML text (``policy.yml``; see ``policy.example.yml`` and ``docs/policy.md``).
:func:`load_policy` parses it keeping line numbers, so every mistake is reported as
``policy.yml line 14: categories.meals.limit: '75 dollars' is not an amount``.
:func:`evaluate` checks one expense against the policy and returns the findings.

All limits are in the company currency. Expenses in other currencies are converted with
the rates the caller supplies; a missing rate is an error, never a 1:1 guess.
"""

from __future__ import annotations

import difflib
import itertools
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from workflows.fx import MissingRate, RateLookup, convert, no_rates
from workflows.money import Money, MoneyError, is_currency, parse_amount

# --- errors -------------------------------------------------------------------------------


class PolicyError(ValueError):
    """A policy that cannot be used. ``str(err)`` names the source, the line and the setting."""

    def __init__(self, message: str, *, source: str = "policy.yml", line: int | None = None) -> None:
        self.source = source
        self.line = line
        self.detail = message
        where = f"{source} line {line}" if line is not None else source
        super().__init__(f"{where}: {message}")


# --- value types --------------------------------------------------------------------------


def _amount(value: object) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"'{value}' is not an amount")
    if isinstance(value, float):
        raise ValueError(f"'{value}' is a floating-point number; write the amount as text such as '75.00'")
    if isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, Decimal):
        result = value
    elif isinstance(value, str):
        try:
            result = parse_amount(value)
        except MoneyError:
            raise ValueError(f"'{value}' is not an amount") from None
    else:
        raise ValueError(f"'{value}' is not an amount")
    if not result.is_finite():
        raise ValueError(f"'{value}' is not an amount")
    if result < 0:
        raise ValueError(f"'{value}' must not be negative")
    return result


Amount = Annotated[Decimal, BeforeValidator(_amount)]
"""A non-negative decimal amount in the company currency, written like ``75.00``."""

_CATEGORY_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


def category_key(text: str) -> str:
    """Normalise a category name as people type it: ``Client Entertainment`` → ``client_entertainment``."""
    return re.sub(r"[\s\-]+", "_", text.strip().lower())


class LevelApprover(StrEnum):
    MANAGER_OF_MANAGER = "manager_of_manager"
    DEPARTMENT_HEAD = "department_head"


# --- the policy model ---------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CategoryRule(_Strict):
    """Rules for one category. All amounts are in the company currency."""

    label: str | None = None
    limit: Amount | None = None
    """Most one expense of this category may be."""
    daily_limit: Amount | None = None
    """Most the employee's expenses of this category may add up to on one day."""
    receipt_required_above: Amount | None = None
    """Overrides the policy-wide receipt threshold for this category."""
    requires_customer: bool = False
    """The expense must name the customer it was for (client entertainment, client travel)."""
    billable: bool = False
    """Expenses of this category are re-invoiced to the customer (unless the customer is not billable)."""
    auto_approve: bool = True
    """Whether claims of this category may be approved by policy below ``auto_approve_below``."""
    prohibited: bool = False
    rate_per_unit: Amount | None = None
    """Mileage: amount paid per ``unit`` of distance."""
    unit: Literal["km", "mile"] | None = None
    per_diem: bool = False
    """Per diem: claims priced from the per diem rates (``/expense perdiem``), no receipt needed."""

    @model_validator(mode="after")
    def _mileage_needs_unit(self) -> CategoryRule:
        if self.per_diem and self.rate_per_unit is not None:
            raise ValueError("a category is either per_diem or paid per unit (rate_per_unit), not both")
        if self.rate_per_unit is not None and self.unit is None:
            raise ValueError("rate_per_unit needs a unit: km or mile")
        if self.unit is not None and self.rate_per_unit is None:
            raise ValueError("unit is set but rate_per_unit is missing")
        if self.limit is not None and self.daily_limit is not None and self.daily_limit < self.limit:
            raise ValueError(
                f"daily_limit ({self.daily_limit}) is below the per-expense limit ({self.limit})"
            )
        return self


class Level(_Strict):
    """Above ``above`` (company currency, exclusive) an extra approver is added."""

    above: Amount
    approver: LevelApprover


class Reminders(_Strict):
    after_working_hours: int = Field(default=24, ge=1)
    """Remind an approver after this many working hours (Monday to Friday) without a decision."""
    repeat_every_working_hours: int = Field(default=24, ge=1)
    escalate_after_days: int = Field(default=3, ge=1)
    """Escalate to the approver's manager after this many working days without a decision."""
    timezone: str = "UTC"
    """IANA time zone in which weekends and holidays are counted, e.g. Asia/Kuala_Lumpur."""
    holidays: list[date] = Field(default_factory=list)
    """Days that do not count as working days (public holidays, office closures)."""

    @field_validator("timezone", mode="after")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"'{value}' is not a time zone (for example UTC, Europe/Berlin)") from None
        return value


class Anomalies(_Strict):
    history_factor: Amount = Decimal(3)
    """Flag an expense this many times above the employee's usual amount for the category."""
    min_history: int = Field(default=3, ge=1)
    """Past expenses needed before comparing with them."""
    flag_weekends: bool = True
    flag_holidays: bool = True
    """Flag expenses dated on one of ``reminders.holidays``."""


class CustomerRule(_Strict):
    name: str | None = None
    billable: bool = True


BudgetPeriod = Literal["month", "quarter", "year"]
BUDGET_SCOPES = ("department", "customer", "project")


class Budget(_Strict):
    """Most a department, a customer or a project may spend per period, in the company currency.

    Exactly one of ``department``, ``customer`` or ``project`` is set. Going over a budget never
    refuses a claim: approvers are warned (see :mod:`workflows.budgets`).
    """

    department: str | None = None
    """A department as written in the directory (case is ignored)."""
    customer: str | None = None
    """A customer's name, CRM id or alias (case is ignored)."""
    project: str | None = None
    """A project as typed on expenses (case is ignored)."""
    period: BudgetPeriod
    """``month``, ``quarter`` or ``year`` (calendar), taken from the date of the expense."""
    amount: Amount
    label: str | None = None
    """Name shown to people, e.g. "Sales team"; by default the department, customer or project."""

    @field_validator("department", "customer", "project", "label", mode="after")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not " ".join(value.split()):
            raise ValueError("must not be empty")
        return " ".join(value.split()) if value is not None else None

    @model_validator(mode="after")
    def _one_scope(self) -> Budget:
        scopes = [name for name in BUDGET_SCOPES if getattr(self, name) is not None]
        if len(scopes) != 1:
            found = f" (found {' and '.join(scopes)})" if scopes else ""
            raise ValueError(f"a budget needs exactly one of department, customer or project{found}")
        if self.amount <= 0:
            raise ValueError(f"the budget amount must be more than zero (got {self.amount})")
        return self

    @property
    def scope(self) -> str:
        """``department``, ``customer`` or ``project``."""
        return next(name for name in BUDGET_SCOPES if getattr(self, name) is not None)

    @property
    def name(self) -> str:
        value = getattr(self, self.scope)
        assert isinstance(value, str)
        return value

    @property
    def key(self) -> str:
        """The name folded for comparison (case and spacing ignored)."""
        return budget_key(self.name)

    @property
    def display(self) -> str:
        if self.label:
            return self.label
        return self.name[:1].upper() + self.name[1:]


def budget_key(name: str) -> str:
    return " ".join(name.casefold().split())


class Policy(_Strict):
    company_currency: str
    categories: dict[str, CategoryRule] = Field(default_factory=lambda: dict(DEFAULT_CATEGORIES))
    receipt_required_above: Amount = Decimal("75.00")
    no_receipt_allowed_up_to: Amount | None = None
    """A company-card charge up to this amount may be marked "no receipt" by its card holder, with a
    reason (docs/transactions.md); None: up to ``receipt_required_above``. Finance may always."""
    max_age_days: int = Field(default=90, ge=1)
    approval_levels: list[Level] = Field(default_factory=lambda: list(DEFAULT_LEVELS))
    auto_approve_below: Amount | None = None
    prohibited_merchants: list[str] = Field(default_factory=list)
    """Case-insensitive: a merchant whose name contains one of these words is refused."""
    prohibited_categories: list[str] = Field(default_factory=list)
    customers: dict[str, CustomerRule] = Field(default_factory=dict)
    reminders: Reminders = Field(default_factory=Reminders)
    anomalies: Anomalies = Field(default_factory=Anomalies)
    budgets: list[Budget] = Field(default_factory=list)
    card_rate_tolerance_percent: Amount = Decimal("3")
    """How far (in percent) a rate an employee enters from their card statement may be from the
    reference rate of the claim's date (docs/currency.md)."""

    @field_validator("card_rate_tolerance_percent", mode="after")
    @classmethod
    def _tolerance(cls, value: Decimal) -> Decimal:
        if value < 0 or value > 100:
            raise ValueError(f"must be between 0 and 100 percent (got {value})")
        return value

    @field_validator("company_currency", mode="before")
    @classmethod
    def _currency(cls, value: object) -> str:
        if not isinstance(value, str) or not is_currency(value.strip()):
            raise ValueError(f"'{value}' is not an ISO 4217 currency code (for example USD, EUR, MYR)")
        return value.strip().upper()

    @field_validator("categories", mode="before")
    @classmethod
    def _category_keys(cls, value: object) -> object:
        if isinstance(value, dict):
            for key in value:
                if not isinstance(key, str) or not _CATEGORY_KEY.match(key):
                    raise ValueError(
                        f"category name '{key}' must be lower case letters, digits and underscores "
                        "(for example client_entertainment)"
                    )
            if not value:
                raise ValueError("at least one category is needed")
        return value

    @field_validator("prohibited_categories", "prohibited_merchants", mode="after")
    @classmethod
    def _no_blank(cls, value: list[str]) -> list[str]:
        cleaned = [item.strip() for item in value]
        if any(not item for item in cleaned):
            raise ValueError("entries must not be empty")
        return cleaned

    @field_validator("prohibited_merchants", mode="after")
    @classmethod
    def _has_a_word(cls, value: list[str]) -> list[str]:
        for item in value:
            if not re.search(r"[^\W_]", item):
                raise ValueError(f"'{item}' has no letter or digit to match merchant names with")
        return value

    @field_validator("approval_levels", mode="after")
    @classmethod
    def _ascending(cls, value: list[Level]) -> list[Level]:
        for before, after in itertools.pairwise(value):
            if after.above <= before.above:
                raise ValueError(
                    f"approval levels must go up in amount: {after.above} comes after {before.above}"
                )
        return value

    @field_validator("budgets", mode="after")
    @classmethod
    def _one_budget_each(cls, value: list[Budget]) -> list[Budget]:
        seen: dict[tuple[str, str, str], int] = {}
        for index, budget in enumerate(value):
            what = (budget.scope, budget.key, budget.period)
            if what in seen:
                raise ValueError(
                    f"entry {index + 1} repeats entry {seen[what] + 1}: two {budget.period}ly budgets "
                    f"for {budget.scope} '{budget.name}'"
                )
            seen[what] = index
        return value

    # helpers ---------------------------------------------------------------------------

    def money(self, amount: Decimal) -> Money:
        return Money(amount, self.company_currency)

    def no_receipt_limit(self) -> Money:
        """The most a card holder may charge and mark "no receipt" (company currency)."""
        limit = self.no_receipt_allowed_up_to
        return self.money(self.receipt_required_above if limit is None else limit)

    def rule_for(self, category: str) -> CategoryRule | None:
        return self.categories.get(category_key(category))

    def label_of(self, category: str) -> str:
        key = category_key(category)
        rule = self.categories.get(key)
        if rule is not None and rule.label:
            return rule.label
        return key.replace("_", " ").capitalize()

    def category_options(self) -> list[tuple[str, str]]:
        """``(key, label)`` of the categories people may choose, in policy order."""
        return [(key, self.label_of(key)) for key in self.categories if not self.is_prohibited_category(key)]

    def is_prohibited_category(self, category: str) -> bool:
        key = category_key(category)
        rule = self.categories.get(key)
        return (rule is not None and rule.prohibited) or key in {
            category_key(c) for c in self.prohibited_categories
        }

    def prohibited_merchant(self, merchant: str | None) -> str | None:
        """The prohibited entry that ``merchant`` matches, if any (see :func:`merchant_pattern`)."""
        if not merchant:
            return None
        name = _fold(merchant)
        for entry in self.prohibited_merchants:
            if merchant_pattern(entry).search(name):
                return entry
        return None


def _fold(text: str, *, stars: bool = False) -> str:
    """Lower case, every run of punctuation and spaces made one space: "LUCKY-CASINO" → "lucky casino"
    (``*`` is kept with ``stars``, for the patterns of ``prohibited_merchants``)."""
    return " ".join(re.sub(r"[^\w*]+" if stars else r"[^\w]+", " ", text.casefold()).split())


def merchant_pattern(entry: str) -> re.Pattern[str]:
    """How a ``prohibited_merchants`` entry matches a merchant name.

    Both are folded (case ignored, punctuation and spaces between words ignored), then the entry's
    words must appear in the name as whole words, in order and next to each other: ``casino``
    matches "LUCKY-CASINO Resort" but not "Casinotti's Trattoria"; ``club 88`` matches "Club-88 Bar".
    A ``*`` in a word stands for any letters or digits: ``casino*`` also matches "Casinos",
    ``*casino`` matches "LuckyCasino".
    """
    words = _fold(entry, stars=True).split()
    parts = [r"\w*".join(re.escape(piece) for piece in word.split("*")) for word in words]
    return re.compile(r"(?<!\w)" + " ".join(parts) + r"(?!\w)")


DEFAULT_CATEGORIES: dict[str, CategoryRule] = {
    "meals": CategoryRule(limit=Decimal("75.00"), daily_limit=Decimal("100.00")),
    "travel": CategoryRule(),
    "lodging": CategoryRule(limit=Decimal("300.00"), daily_limit=Decimal("300.00")),
    "mileage": CategoryRule(rate_per_unit=Decimal("0.67"), unit="mile"),
    "software": CategoryRule(limit=Decimal("500.00"), auto_approve=False),
    "office_supplies": CategoryRule(limit=Decimal("200.00")),
    "fuel": CategoryRule(limit=Decimal("150.00")),
    "client_entertainment": CategoryRule(
        limit=Decimal("250.00"), requires_customer=True, billable=True, auto_approve=False
    ),
    "per_diem": CategoryRule(per_diem=True),
    "other": CategoryRule(auto_approve=False),
}

DEFAULT_LEVELS: list[Level] = [
    Level(above=Decimal("1000.00"), approver=LevelApprover.MANAGER_OF_MANAGER),
    Level(above=Decimal("5000.00"), approver=LevelApprover.DEPARTMENT_HEAD),
]


def default_policy(company_currency: str = "USD") -> Policy:
    """The built-in policy used until an admin installs one (documented in docs/policy.md)."""
    return Policy(company_currency=company_currency)


class _PolicyDumper(yaml.SafeDumper):
    pass


def _represent_decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    text = f"{value:f}"
    return dumper.represent_scalar(
        "tag:yaml.org,2002:float" if "." in text else "tag:yaml.org,2002:int", text
    )


def _represent_enum(dumper: yaml.SafeDumper, value: StrEnum) -> yaml.ScalarNode:
    return dumper.represent_str(value.value)


_PolicyDumper.add_representer(Decimal, _represent_decimal)
_PolicyDumper.add_multi_representer(StrEnum, _represent_enum)


def policy_to_yaml(policy: Policy) -> str:
    """The policy as YAML that :func:`load_policy` reads back to an equal policy."""
    data = policy.model_dump(mode="python", exclude_none=True)
    return yaml.dump(
        data, Dumper=_PolicyDumper, sort_keys=False, allow_unicode=True, default_flow_style=False
    )


# --- loading YAML with line numbers ---------------------------------------------------------

_Path = tuple[str | int, ...]


def load_policy(text: str, source: str = "policy.yml") -> Policy:
    """Parse and validate policy YAML. Raises :class:`PolicyError` naming the line and setting."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = err.problem or err.context or "cannot be read"
        raise PolicyError(f"this is not valid YAML: {problem}", source=source, line=line) from None
    except yaml.YAMLError as err:
        raise PolicyError(f"this is not valid YAML: {err}", source=source) from None
    if root is None:
        raise PolicyError("the policy is empty; it needs at least company_currency", source=source)
    lines: dict[_Path, int] = {}
    data = _Builder(source, lines).build(root, ())
    if not isinstance(data, dict):
        raise PolicyError("the policy must be a mapping of settings (key: value)", source=source, line=1)
    try:
        return Policy.model_validate(data)
    except ValidationError as err:
        errors = err.errors(include_url=False)
        # an unknown setting explains a "missing" one next to it (a typo), so it is reported first
        first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        loc: _Path = tuple(first["loc"])
        line = _line_for(loc, lines)
        dotted = _dotted(loc)
        message = _message(first, loc)
        raise PolicyError(f"{dotted}: {message}" if dotted else message, source=source, line=line) from None


_MAX_NODES = 20_000


class _Builder:
    """Turns composed YAML nodes into plain data, remembering each setting's line.

    Scalars stay text unless they are null, booleans or integers, so amounts are read exactly as
    written. Aliases that refer to themselves or expand beyond ``_MAX_NODES`` are refused.
    """

    def __init__(self, source: str, lines: dict[_Path, int]) -> None:
        self.source = source
        self.lines = lines
        self.count = 0
        self.open: set[int] = set()

    def build(self, node: yaml.Node, path: _Path) -> Any:
        self.count += 1
        line = node.start_mark.line + 1
        if self.count > _MAX_NODES:
            raise PolicyError(
                "the policy is too large (or repeats itself through aliases)", source=self.source, line=line
            )
        if id(node) in self.open:
            raise PolicyError("an alias refers to itself", source=self.source, line=line)
        self.lines.setdefault(path, line)
        if isinstance(node, yaml.MappingNode):
            self.open.add(id(node))
            try:
                return self._mapping(node, path)
            finally:
                self.open.discard(id(node))
        if isinstance(node, yaml.SequenceNode):
            self.open.add(id(node))
            try:
                return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
            finally:
                self.open.discard(id(node))
        assert isinstance(node, yaml.ScalarNode)
        return _scalar(node)

    def _mapping(self, node: yaml.MappingNode, path: _Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: list[Any] = []
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                value = self.build(value_node, path)
                merged.extend(value if isinstance(value, list) else [value])
                continue
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise PolicyError("keys must be plain names", source=self.source, line=key_line)
            key = _scalar(key_node)
            if key is None or isinstance(key, bool):
                raise PolicyError(
                    f"'{key_node.value}' is not a setting name", source=self.source, line=key_line
                )
            key_text = str(key)
            if key_text in result:
                raise PolicyError(
                    f"{_dotted((*path, key_text))} is set twice", source=self.source, line=key_line
                )
            self.lines[(*path, key_text)] = key_line
            result[key_text] = self.build(value_node, (*path, key_text))
        for item in merged:  # `<<: *anchor` fills in what the mapping does not set itself
            if isinstance(item, dict):
                for key, value in item.items():
                    result.setdefault(key, value)
        return result


def _scalar(node: yaml.ScalarNode) -> Any:
    tag = node.tag
    raw: str = node.value
    if tag == "tag:yaml.org,2002:null":
        return None
    if tag == "tag:yaml.org,2002:bool":
        return raw.lower() in {"true", "yes", "on", "y"}
    if tag == "tag:yaml.org,2002:int":
        try:
            return int(raw.replace("_", ""), 0)
        except ValueError:
            return raw
    # floats, timestamps and strings stay text: amounts are parsed exactly as written
    return raw


def _line_for(loc: _Path, lines: dict[_Path, int]) -> int | None:
    for end in range(len(loc), -1, -1):
        line = lines.get(loc[:end])
        if line is not None:
            return line
    return None


def _dotted(loc: _Path) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + part
    return text


def _shown(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"'{value}'"


def _message(error: Any, loc: _Path) -> str:
    kind: str = error["type"]
    value = error.get("input")
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        known = _known_fields(loc[:-1])
        name = str(loc[-1]) if loc else "?"
        close = difflib.get_close_matches(name, known, n=1)
        hint = (
            f"; did you mean '{close[0]}'?"
            if close
            else (f"; known settings: {', '.join(known)}" if known else "")
        )
        return f"unknown setting '{name}'{hint}"
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return f"{_shown(value)} is not a whole number"
    if kind.startswith("date_") or kind.startswith("datetime_"):
        return f"{_shown(value)} is not a date (YYYY-MM-DD)"
    if kind in {"bool_parsing", "bool_type"}:
        return f"{_shown(value)} is not true or false"
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return f"expected a mapping of settings, not {_shown(value)}"
    if kind in {"list_type", "tuple_type"}:
        return f"expected a list, not {_shown(value)}"
    if kind in {"string_type", "str_type"}:
        return f"expected text, not {_shown(value)}"
    if kind in {"enum", "literal_error"}:
        allowed = str(error["msg"]).removeprefix("Input should be ")
        return f"{_shown(value)} is not one of {allowed}"
    if kind in {"greater_than_equal", "greater_than", "less_than", "less_than_equal"}:
        return f"{_shown(value)}: must be " + str(error["msg"]).removeprefix("Input should be ")
    return str(error["msg"])


def _known_fields(parent: _Path) -> list[str]:
    """Setting names allowed at ``parent`` (for 'did you mean' hints)."""
    current: Any = Policy
    for part in parent:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
        elif typing.get_origin(current) is dict:
            current = typing.get_args(current)[1]
        elif typing.get_origin(current) is list:
            current = typing.get_args(current)[0]
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin is typing.Union or origin is types.UnionType:
            options = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        else:
            return annotation


# --- evaluating one expense ---------------------------------------------------------------


@dataclass(frozen=True)
class ExpenseFacts:
    """What the policy needs to know about one expense."""

    amount: Money
    category: str
    merchant: str | None
    spent_on: date | None
    has_receipt: bool
    customer_id: str | None = None
    submitter_email: str = ""
    distance: Decimal | None = None
    """Mileage: the distance driven, in the unit of the mileage category."""
    per_diem: Money | None = None
    """Per diem: what the rates give for the trip (``workflows.per_diem``); None when not priced."""


@dataclass(frozen=True)
class Violation:
    rule: str
    message: str
    blocking: bool


# Rule names, stable for storage and for the Slack messages.
PROHIBITED_CATEGORY = "prohibited_category"
UNKNOWN_CATEGORY = "unknown_category"
PROHIBITED_MERCHANT = "prohibited_merchant"
INVALID_AMOUNT = "invalid_amount"
DATE_MISSING = "date_missing"
FUTURE_DATE = "future_date"
TOO_OLD = "too_old"
CUSTOMER_REQUIRED = "customer_required"
OVER_LIMIT = "over_limit"
OVER_DAILY_LIMIT = "over_daily_limit"
RECEIPT_REQUIRED = "receipt_required"
DISTANCE_MISSING = "distance_missing"
OVER_MILEAGE_RATE = "over_mileage_rate"
PER_DIEM_NOT_PRICED = "per_diem_not_priced"
OVER_PER_DIEM = "over_per_diem"


def _shown_amount(original: Money, converted: Money) -> str:
    if original.currency == converted.currency:
        return converted.format()
    return f"{converted.format()} ({original.format()})"


def evaluate(
    expense: ExpenseFacts,
    policy: Policy,
    *,
    today: date,
    rates: RateLookup | None = None,
    same_day_total: Money | None = None,
    same_day: Sequence[Money] = (),
) -> list[Violation]:
    """Check one expense against the policy. Blocking findings come first.

    ``same_day`` are the submitter's *other* expenses of the same category on the same day, in
    any currency: each is converted to the company currency at the rate of that day and added
    up (``same_day_total`` is one more such amount). The daily limit applies to the claim alone
    too. Amounts in another currency than the company's are converted with ``rates`` on the day
    of the expense; without a rate this raises :class:`workflows.fx.MissingRate`.
    """
    blocking: list[Violation] = []
    findings: list[Violation] = []
    key = category_key(expense.category)
    rule = policy.categories.get(key)
    label = policy.label_of(key)

    if policy.is_prohibited_category(key):
        blocking.append(
            Violation(
                PROHIBITED_CATEGORY, f"{label} expenses cannot be reimbursed under the company policy.", True
            )
        )
    elif rule is None:
        choices = ", ".join(policy.label_of(k) for k in policy.categories)
        blocking.append(
            Violation(
                UNKNOWN_CATEGORY,
                f"“{expense.category}” is not an expense category; choose one of: {choices}.",
                True,
            )
        )

    try:
        expense.amount.check_claimable()
    except MoneyError as exc:
        blocking.append(Violation(INVALID_AMOUNT, str(exc), True))

    matched = policy.prohibited_merchant(expense.merchant)
    if matched is not None:
        blocking.append(
            Violation(
                PROHIBITED_MERCHANT,
                f"Expenses at {expense.merchant} cannot be reimbursed (“{matched}” is on the prohibited list).",
                True,
            )
        )

    if expense.spent_on is None:
        blocking.append(Violation(DATE_MISSING, "Add the date the money was spent.", True))
    elif expense.spent_on > today:
        blocking.append(
            Violation(
                FUTURE_DATE,
                f"The date {expense.spent_on.isoformat()} is in the future; check the receipt date.",
                True,
            )
        )
    elif (today - expense.spent_on).days > policy.max_age_days:
        age = (today - expense.spent_on).days
        blocking.append(
            Violation(
                TOO_OLD,
                f"Expenses must be claimed within {policy.max_age_days} days; this one is from "
                f"{expense.spent_on.isoformat()}, {age} days ago.",
                True,
            )
        )

    if rule is not None and rule.requires_customer and not (expense.customer_id or "").strip():
        blocking.append(
            Violation(CUSTOMER_REQUIRED, f"{label} expenses must name the customer they were for.", True)
        )

    day = expense.spent_on or today
    lookup = rates or no_rates
    try:
        amount = convert(expense.amount, policy.company_currency, day, lookup)
    except MissingRate:
        if blocking:  # refused anyway: say why without waiting for a rate
            return blocking
        raise
    shown = _shown_amount(expense.amount, amount)

    if rule is not None and rule.limit is not None and amount.amount > rule.limit:
        findings.append(
            Violation(
                OVER_LIMIT,
                f"{label} are limited to {policy.money(rule.limit)} per expense; this one is {shown}.",
                False,
            )
        )

    if rule is not None and rule.daily_limit is not None:
        earlier = [*same_day, *([same_day_total] if same_day_total is not None else [])]
        others = policy.money(Decimal(0))
        for other in earlier:
            others = others + convert(other, policy.company_currency, day, lookup)
        total = others + amount
        if total.amount > rule.daily_limit:
            if earlier:
                detail = f"with the other {label.lower()} that day ({others}) this makes {total}"
            else:
                detail = f"this one alone is {shown}"
            findings.append(
                Violation(
                    OVER_DAILY_LIMIT,
                    f"{label} are limited to {policy.money(rule.daily_limit)} per day; {detail}.",
                    False,
                )
            )

    threshold = policy.receipt_required_above
    if rule is not None and rule.receipt_required_above is not None:
        threshold = rule.receipt_required_above
    per_diem = rule is not None and rule.per_diem
    if not expense.has_receipt and amount.amount > threshold and not per_diem:
        findings.append(
            Violation(
                RECEIPT_REQUIRED,
                f"A receipt is required above {policy.money(threshold)}; this expense is {shown}. "
                "Attach a photo or PDF of the receipt.",
                False,
            )
        )

    if rule is not None and rule.rate_per_unit is not None:
        unit = rule.unit or "km"
        if expense.distance is None or expense.distance <= 0:
            findings.append(
                Violation(
                    DISTANCE_MISSING,
                    f"{label} is paid per {unit}; say how many {unit}s were driven.",
                    False,
                )
            )
        else:
            allowed = policy.money(expense.distance * rule.rate_per_unit)
            if amount > allowed:
                findings.append(
                    Violation(
                        OVER_MILEAGE_RATE,
                        f"{label} is paid at {policy.money(rule.rate_per_unit)} per {unit}; "
                        f"{expense.distance.normalize():f} {unit}s come to at most {allowed}, "
                        f"this claim is {shown}.",
                        False,
                    )
                )

    if per_diem:
        if expense.per_diem is None:
            findings.append(
                Violation(
                    PER_DIEM_NOT_PRICED,
                    f"{label} is priced from the per diem rates: claim it with `/expense perdiem` "
                    "(destination and dates) instead of typing an amount.",
                    False,
                )
            )
        elif expense.per_diem.currency != expense.amount.currency or expense.amount > expense.per_diem:
            findings.append(
                Violation(
                    OVER_PER_DIEM,
                    f"{label}: the rates give {expense.per_diem} for this trip; this claim is {shown}.",
                    False,
                )
            )

    return blocking + findings


def mileage_amount(distance: Decimal, policy: Policy, category: str = "mileage") -> Money:
    """What ``distance`` is worth under the category's rate, in the company currency."""
    rule = policy.rule_for(category)
    if rule is None or rule.rate_per_unit is None:
        raise PolicyError(f"categories.{category_key(category)} has no rate_per_unit", source="policy")
    if distance < 0:
        raise MoneyError("The distance cannot be negative.")
    return policy.money(distance * rule.rate_per_unit)


def is_billable(expense: ExpenseFacts, policy: Policy) -> bool:
    """Re-invoiced to the customer: a billable category, a customer named, and that customer billable."""
    rule = policy.rule_for(expense.category)
    customer = (expense.customer_id or "").strip()
    if rule is None or not rule.billable or not customer:
        return False
    customer_rule = policy.customers.get(customer)
    return customer_rule is None or customer_rule.billable


def summary(policy: Policy) -> str:
    """One paragraph describing the policy, for ``expensebot policy check`` and the admin UI."""
    cur = policy.company_currency
    parts = [
        f"company currency {cur}",
        f"{len(policy.categories)} categories ({', '.join(policy.categories)})",
        f"receipts required above {policy.money(policy.receipt_required_above)}",
        f"claims up to {policy.max_age_days} days old",
    ]
    if policy.approval_levels:
        levels = "; ".join(
            f"above {policy.money(level.above)}: {level.approver.value.replace('_', ' ')}"
            for level in policy.approval_levels
        )
        parts.append(f"extra approval levels: {levels}")
    else:
        parts.append("no extra approval levels")
    if policy.auto_approve_below is not None:
        parts.append(f"auto-approval below {policy.money(policy.auto_approve_below)}")
    else:
        parts.append("no auto-approval")
    if policy.prohibited_merchants:
        parts.append(f"{len(policy.prohibited_merchants)} prohibited merchants")
    if policy.budgets:
        parts.append(f"{len(policy.budgets)} budget{'s' if len(policy.budgets) > 1 else ''}")
    return ", ".join(parts)
