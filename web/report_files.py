"""The monthly report as files: an XLSX workbook (a sheet per table, the charts as Excel
charts over their figures) and a printable HTML page (the charts as SVG, print it to PDF from
any browser). Both come from one web.report.Report, small cells already hidden."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import xlsxwriter

from web.charts import PALETTE, Chart
from web.report import HIDDEN, Report
from web.templating import TEMPLATES

SUPPRESSION_NOTE = (
    "Counts of people under 5 are shown as <5, and where a total would give a hidden count "
    "away, one more cell is hidden too, so that no one can be singled out."
)


def file_stem(report: Report) -> str:
    place = (
        f"-{re.sub(r'[^A-Za-z0-9]+', '-', report.period.location)}"
        if report.period.location
        else ""
    )
    return f"sahay-report-{report.period.start:%Y-%m}{place}"


def _sheet_name(title: str, taken: set[str]) -> str:
    name = re.sub(r"[\[\]:*?/\\]", " ", title)[:28].strip()
    base, n = name, 2
    while name.lower() in taken:
        name, n = f"{base[:25]} {n}", n + 1
    taken.add(name.lower())
    return name


def workbook(report: Report) -> bytes:
    """The report as an XLSX workbook."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    bold = book.add_format({"bold": True})
    heading = book.add_format({"bold": True, "font_size": 14})
    hidden = book.add_format({"align": "right", "font_color": "#4a4a4a"})
    share = book.add_format({"num_format": "0%"})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    taken: set[str] = set()

    summary = book.add_worksheet(_sheet_name("Summary", taken))
    summary.set_column(0, 0, 34)
    summary.set_column(1, 2, 28)
    summary.write(0, 0, report.title, heading)
    summary.write(1, 0, "Period")
    summary.write(
        1, 1, f"{report.period.start:%Y-%m-%d} to {report.period.end:%Y-%m-%d} (end excluded), UTC"
    )
    summary.write(2, 0, "Location")
    summary.write(2, 1, report.period.location or "All locations")
    summary.write(3, 0, "Made")
    summary.write(3, 1, f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    row = 5
    for what, value, note in report.headline:
        summary.write(row, 0, what, bold)
        _write(summary, row, 1, value, hidden)
        summary.write(row, 2, note)
        row += 1
    row += 1
    summary.merge_range(row, 0, row, 2, SUPPRESSION_NOTE, wrap)
    summary.set_row(row, 45)

    for chart in report.charts:
        sheet = book.add_worksheet(_sheet_name(chart.sheet or chart.title, taken))
        _write_table(
            sheet,
            (bold, hidden, share if chart.percent else None),
            (chart.title, chart.x_label, chart.note),
            [s.name for s in chart.series],
            _columns(chart),
            chart.hidden,
        )
        if chart.categories and chart.series and not chart.empty():
            sheet.insert_chart(1, len(chart.series) + 2, _excel_chart(book, sheet.name, chart))

    for table in report.tables:
        sheet = book.add_worksheet(_sheet_name(table.sheet or table.title, taken))
        _write_table(
            sheet,
            (bold, hidden, None),
            (table.title, table.corner, table.note),
            table.columns,
            table.rows,
        )
    book.close()
    return out.getvalue()


def _columns(chart: Chart) -> list[tuple[str, list[Any]]]:
    return [(c, [s.values[i] for s in chart.series]) for i, c in enumerate(chart.categories)]


def _write(
    sheet: Any,
    row: int,
    column: int,
    value: Any,
    hidden: Any,
    shown: Any = None,
    text: str = HIDDEN,
) -> None:
    if value is None:
        sheet.write_string(row, column, text, hidden)
    else:
        sheet.write(row, column, value, shown)


def _write_table(
    sheet: Any,
    formats: tuple[Any, Any, Any],
    words: tuple[str, str, str],
    columns: list[str],
    rows: list[tuple[str, list[Any]]],
    hidden_text: str = HIDDEN,
) -> None:
    """A table from A1: its title, a header row, a row per label; then its notes."""
    bold, hidden, shown = formats
    title, corner, note = words
    sheet.write(0, 0, title, bold)
    sheet.set_column(0, 0, 30)
    sheet.set_column(1, max(len(columns), 1), 14)
    sheet.write(1, 0, corner, bold)
    for j, name in enumerate(columns):
        sheet.write(1, j + 1, name, bold)
    for i, (label, values) in enumerate(rows):
        sheet.write(i + 2, 0, label)
        for j, value in enumerate(values):
            _write(sheet, i + 2, j + 1, value, hidden, shown, hidden_text)
    if not rows:
        sheet.write(2, 0, "Nothing in this period.")
    end = max(len(rows), 1) + 3
    if note:
        sheet.write(end, 0, note)
    sheet.write(end + 1, 0, SUPPRESSION_NOTE)


def _excel_chart(book: Any, sheet: str, chart: Chart) -> Any:
    excel = book.add_chart({"type": "line" if chart.kind == "line" else "column"})
    last = len(chart.categories) + 1
    for j in range(len(chart.series)):
        colour = PALETTE[j % len(PALETTE)]
        look = {"line": {"color": colour, "width": 2.25}} if chart.kind == "line" else {}
        excel.add_series(
            {
                "name": [sheet, 1, j + 1],
                "categories": [sheet, 2, 0, last, 0],
                "values": [sheet, 2, j + 1, last, j + 1],
                "fill": {"color": colour},
                "marker": {
                    "type": "circle",
                    "fill": {"color": colour},
                    "border": {"color": colour},
                },
                **look,
            }
        )
    excel.set_title({"name": chart.title})
    excel.set_x_axis({"name": chart.x_label})
    excel.set_y_axis({"name": chart.y_label, "min": 0})
    excel.set_size({"width": 720, "height": 320})
    return excel


def render_html(report: Report) -> str:
    """The printable report: one self-contained page (its CSS inline, no script)."""
    template = TEMPLATES.env.get_template("staff/report.html")
    return template.render(
        report=report,
        suppression_note=SUPPRESSION_NOTE,
        cell=lambda v: HIDDEN if v is None else v,
        made=f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
    )


def write_files(report: Report, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    stem = file_stem(report)
    book, page = folder / f"{stem}.xlsx", folder / f"{stem}.html"
    book.write_bytes(workbook(report))
    page.write_text(render_html(report), encoding="utf-8")
    return [book, page]
