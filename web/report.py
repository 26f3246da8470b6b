"""What the dashboard shows and the monthly report holds, put together once from
storage/figures.py: headline numbers, charts and disaggregated tables, every count of people
under 5 hidden (figures.suppress), so that the page, the workbook and the printable report
say the same thing and none of them can single anyone out."""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import N_
from storage import figures
from storage.figures import NOT_GIVEN, Period
from web.charts import Chart, Series

# Staff read the report in English; the people it counts wrote in these.
LANGUAGES_IN_ENGLISH = {
    "en": "English",
    "es": "Spanish",
    "bn": "Bengali",
    "hi": "Hindi",
    "ta": "Tamil",
    "si": "Sinhala",
    "ne": "Nepali",
    "dv": "Dhivehi",
}
DIMENSION_TITLES = {
    "category": "Category",
    "status": "Status",
    "urgency": "Urgency",
    "location": "Location",
    "language": "Language",
    "gender": "Gender",
    "age_group": "Age group",
    "nationality": "Nationality",
}
# What the dashboard's "over time" chart can be broken down by.
BREAKDOWNS = ("category", "status", "urgency", "location", "language")
# Two-way tables in the monthly report: (rows, columns).
CROSSTABS = (
    ("category", "gender"),
    ("category", "age_group"),
    ("category", "nationality"),
    ("location", "category"),
)
MOST_LINES = 6  # a line chart shows this many values; the rest are added up as "other"
MIN_MESSAGES = 5  # a fallback rate over fewer messages is not shown
HIDDEN = "<5"


@dataclass
class Table:
    title: str
    corner: str  # what the rows are
    columns: list[str]
    rows: list[tuple[str, list[Any]]]  # int, float, str, or None for a hidden cell
    note: str = ""
    sheet: str = ""  # its worksheet's name, if not its title (Excel allows 31 characters)


@dataclass
class Report:
    period: Period
    title: str
    headline: list[tuple[str, Any, str]]  # (what, value or None if hidden, note)
    charts: list[Chart]
    tables: list[Table] = field(default_factory=list)
    # What the charts were drawn from, kept for the monthly report's tables.
    reach: list[dict[str, Any]] = field(default_factory=list)  # broadcast_rows
    rates: dict[str, dict[date, tuple[int, int]]] = field(default_factory=dict)  # fallback


class Words:
    """The English words for stored values (categories and answers come from locales/)."""

    def __init__(self, labels: Mapping[str, Mapping[str, str]]) -> None:
        self.labels = labels

    def __call__(self, dimension: str, value: str) -> str:
        if value == NOT_GIVEN:
            return "Not given"
        if dimension == "language":
            return LANGUAGES_IN_ENGLISH.get(value, value)
        table = {
            "category": "categories",
            "gender": "genders",
            "age_group": "age_groups",
            "nationality": "nationalities",
        }
        if dimension in table:
            return self.labels.get(table[dimension], {}).get(value, value)
        return value.replace("_", " ").capitalize() if dimension != "location" else value


def month_period(month: str, location: str | None = None) -> Period:
    """ "2026-03" as a Period (UTC); a clear error for anything else."""
    try:
        year, number = (int(part) for part in month.split("-"))
        start = datetime(year, number, 1, tzinfo=UTC)
    except ValueError as exc:
        raise ValueError(f"not a month: {month!r} (write it as YYYY-MM, e.g. 2026-03)") from exc
    days = calendar.monthrange(year, number)[1]
    return Period(start, start + timedelta(days=days), location)


def week_label(week: date) -> str:
    return f"{week.day} {calendar.month_abbr[week.month]}"


def _shown(value: int) -> int | None:
    return None if 0 < value < figures.SMALL_CELL else value


def _hours(value: float | None) -> str:
    return "—" if value is None else f"{value:g} h"


async def gather(
    session: AsyncSession, period: Period, words: Words, breakdown: str = "category"
) -> Report:
    """The dashboard: headline numbers and charts for the period (and location)."""
    people = await figures.people(session, period)
    times = await figures.answer_times(session, period)
    flow = await figures.weekly_requests(session, breakdown, period)
    weeks = period.weeks()
    opened = {w: sum(flow["opened"][w].values()) for w in weeks}
    resolved = {w: sum(flow["resolved"][w].values()) for w in weeks}
    headline = [
        (N_("Conversations"), _shown(people["conversations"]), N_("people who wrote")),
        (N_("New contacts"), _shown(people["new_contacts"]), N_("wrote for the first time")),
        (N_("Requests opened"), _shown(sum(opened.values())), ""),
        (N_("Requests resolved"), _shown(sum(resolved.values())), N_("resolved or closed")),
        (
            N_("Median time to first response"),
            _hours(times["median_hours_to_first_response"]),
            f"{times['not_yet_answered']} not yet answered" if times["opened"] else "",
        ),
        (
            N_("Median time to resolution"),
            _hours(times["median_hours_to_resolution"]),
            f"{times['not_yet_resolved']} not yet resolved" if times["opened"] else "",
        ),
    ]
    labels = [week_label(w) for w in weeks]
    reach = await broadcast_rows(session, period)
    rates = await figures.fallback_rate(session, period)
    charts = [
        Chart(
            "weekly",
            N_("Requests opened and resolved, week by week"),
            N_("Week beginning"),
            N_("Requests"),
            labels,
            [
                Series("Opened", _row(opened, weeks)),
                Series("Resolved", _row(resolved, weeks)),
            ],
            sheet="Weekly requests",
        ),
        _over_time(flow["opened"], weeks, breakdown, words),
        _by_value(flow, breakdown, words),
        _fallback_chart(rates, weeks),
        _broadcast_chart(reach),
        await _topics_chart(session, period),
    ]
    return Report(period, "Sahay dashboard", headline, charts, reach=reach, rates=rates)


def _row(counts: Mapping[Any, int], order: Sequence[Any]) -> list[float | None]:
    shown = figures.suppress({str(k): counts.get(k, 0) for k in order})
    return [shown[str(k)] for k in order]


def _totals(weekly: Mapping[date, Mapping[str, int]]) -> dict[str, int]:
    """Week-by-week counts added up over the period: {value: n}."""
    totals: dict[str, int] = {}
    for counts in weekly.values():
        for value, n in counts.items():
            totals[value] = totals.get(value, 0) + n
    return totals


def _over_time(
    weekly: Mapping[date, Mapping[str, int]], weeks: list[date], breakdown: str, words: Words
) -> Chart:
    totals = _totals(weekly)
    ranked = sorted(totals, key=lambda v: (-totals[v], v))
    top, rest = ranked[:MOST_LINES], ranked[MOST_LINES:]
    series = [
        Series(words(breakdown, value), _row({w: weekly[w].get(value, 0) for w in weeks}, weeks))
        for value in top
    ]
    if rest:
        other = {w: sum(weekly[w].get(v, 0) for v in rest) for w in weeks}
        series.append(Series("All others", _row(other, weeks)))
    title = DIMENSION_TITLES[breakdown].lower()
    return Chart(
        "over-time",
        f"Requests opened by {title}, week by week",
        N_("Week beginning"),
        N_("Requests opened"),
        [week_label(w) for w in weeks],
        series,
        kind="line",
        sheet="Weekly by breakdown",
    )


def _by_value(
    flow: Mapping[str, Mapping[date, Mapping[str, int]]], breakdown: str, words: Words
) -> Chart:
    sums = {kind: _totals(flow[kind]) for kind in ("opened", "resolved")}
    values = sorted(
        set(sums["opened"]) | set(sums["resolved"]), key=lambda v: -sums["opened"].get(v, 0)
    )
    return Chart(
        "by-value",
        f"Requests opened and resolved by {DIMENSION_TITLES[breakdown].lower()}",
        DIMENSION_TITLES[breakdown],
        N_("Requests"),
        [words(breakdown, v) for v in values],
        [
            Series("Opened", _row(sums["opened"], values)),
            Series("Resolved", _row(sums["resolved"], values)),
        ],
        sheet="Opened and resolved by value",
    )


def _fallback_chart(
    rates: Mapping[str, Mapping[date, tuple[int, int]]], weeks: list[date]
) -> Chart:
    series = []
    for language in sorted(rates, key=lambda code: LANGUAGES_IN_ENGLISH.get(code, code)):
        values: list[float | None] = []
        for week in weeks:
            missed, answered = rates[language].get(week, (0, 0))
            values.append(round(missed / answered, 4) if answered >= MIN_MESSAGES else None)
        series.append(Series(LANGUAGES_IN_ENGLISH.get(language, language), values))
    return Chart(
        "fallback",
        N_("Messages Sahay did not understand, by language, week by week"),
        N_("Week beginning"),
        N_("Share of messages"),
        [week_label(w) for w in weeks],
        series,
        kind="line",
        percent=True,
        hidden="—",
        note=f"A week with fewer than {MIN_MESSAGES} messages in a language shows no rate (—).",
        sheet="Not understood weekly",
    )


async def broadcast_rows(session: AsyncSession, period: Period) -> list[dict[str, Any]]:
    """Broadcast reach with small counts hidden: sent, failed and skipped add up to the
    recipients, so they are hidden together (figures.suppress); delivered and unsubscribed
    after are parts of "sent", each hidden under 5."""
    rows = []
    for reach in await figures.broadcast_reach(session, period):
        parts = figures.suppress({k: reach[k] for k in ("sent", "failed", "skipped")})
        rows.append(
            {
                **reach,
                **parts,
                "recipients": _shown(reach["recipients"]),
                "delivered": _shown(reach["delivered"]),
                "unsubscribed_after": _shown(reach["unsubscribed_after"]),
            }
        )
    return rows


REACH = (
    ("sent", "Sent"),
    ("delivered", "Delivered (WhatsApp)"),
    ("failed", "Failed"),
    ("unsubscribed_after", "Unsubscribed within 7 days"),
)


def _broadcast_chart(rows: list[dict[str, Any]]) -> Chart:
    return Chart(
        "reach",
        N_("Broadcast reach"),
        N_("Broadcast"),
        N_("People"),
        [f"{r['started_at']:%d %b} {r['title']}" for r in rows],
        [Series(name, [r[key] for r in rows]) for key, name in REACH],
        note=N_("Telegram does not report delivery: its messages count as sent only."),
        sheet="Broadcast reach chart",
    )


async def _topics_chart(session: AsyncSession, period: Period) -> Chart:
    topics = await figures.unhandled_topics(session, period)
    return Chart(
        "topics",
        N_("What people asked that Sahay could not handle"),
        N_("Word"),
        N_("People who used it"),
        [word for word, _ in topics],
        [Series("People", [float(n) for _, n in topics])],
        note=(
            "Single words from messages answered with the fallback or as out of scope, each used "
            f"by at least {figures.SMALL_CELL} different people; never a whole message, and "
            "nothing with a digit, an @ or a slash."
        ),
        sheet="Unhandled topics",
    )


async def monthly(session: AsyncSession, period: Period, words: Words) -> Report:
    """The monthly report: the dashboard's figures, and every disaggregation, as tables."""
    report = await gather(session, period, words)
    report.title = f"Sahay monthly report, {period.start:%B %Y}"
    if period.location:
        report.title += f", {period.location}"
    for dimension in figures.DIMENSIONS:
        flow = await figures.weekly_requests(session, dimension, period)
        sums = {kind: _totals(flow[kind]) for kind in ("opened", "resolved")}
        values = sorted(set(sums["opened"]) | set(sums["resolved"]))
        opened = _row(sums["opened"], values)
        resolved = _row(sums["resolved"], values)
        report.tables.append(
            Table(
                f"Requests by {DIMENSION_TITLES[dimension].lower()}",
                DIMENSION_TITLES[dimension],
                [N_("Opened"), N_("Resolved")],
                [(words(dimension, v), [opened[i], resolved[i]]) for i, v in enumerate(values)],
                note=_answer_note(dimension),
            )
        )
    for rows, columns in CROSSTABS:
        table = figures.suppress_table(await figures.crosstab(session, rows, columns, period))
        order = sorted({c for row in table.values() for c in row})
        report.tables.append(
            Table(
                f"Requests opened by {DIMENSION_TITLES[rows].lower()} and "
                f"{DIMENSION_TITLES[columns].lower()}",
                DIMENSION_TITLES[rows],
                [words(columns, c) for c in order],
                [(words(rows, r), [table[r][c] for c in order]) for r in sorted(table)],
                note=_answer_note(columns),
                sheet=f"{DIMENSION_TITLES[rows]} by {DIMENSION_TITLES[columns].lower()}",
            )
        )
    report.tables.append(
        Table(
            N_("Broadcast reach"),
            N_("Broadcast"),
            ["Started", "For", "Sent", "Delivered", "Failed", "Skipped", "Unsubscribed after"],
            [
                (
                    r["title"],
                    [
                        f"{r['started_at']:%Y-%m-%d %H:%M}",
                        r["recipients"],
                        r["sent"],
                        r["delivered"],
                        r["failed"],
                        r["skipped"],
                        r["unsubscribed_after"],
                    ],
                )
                for r in report.reach
            ],
            note="Delivered: WhatsApp confirms it; Telegram does not report delivery. "
            "Unsubscribed after: left the broadcast's topic within 7 days of it.",
        )
    )
    report.tables.append(
        Table(
            "Messages Sahay did not understand, by language",
            "Language",
            ["Messages answered", "Not understood", "Share"],
            [
                (
                    LANGUAGES_IN_ENGLISH.get(language, language),
                    [
                        answered,
                        missed,
                        f"{missed / answered:.0%}" if answered >= MIN_MESSAGES else "—",
                    ],
                )
                for language, (missed, answered) in sorted(
                    (code, _added(weeks.values())) for code, weeks in report.rates.items()
                )
            ],
            note="Messages, not people: no one is counted here.",
            sheet="Not understood by language",
        )
    )
    return report


def _added(pairs: Any) -> tuple[int, int]:
    missed = answered = 0
    for one, other in pairs:
        missed, answered = missed + one, answered + other
    return missed, answered


def _answer_note(dimension: str) -> str:
    if dimension in ("gender", "age_group", "nationality"):
        return "Where people gave it: answering is optional."
    return ""
