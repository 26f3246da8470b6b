"""The dashboard and the monthly report against a seeded March whose true counts are known
(tests/storage/test_figures.py): every figure a programme manager reads, small cells hidden
on the page, in the workbook and in the printable report, and who may see them."""

from __future__ import annotations

import asyncio
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pytest

from bot import cli
from storage.casework import audit_log
from storage.db import Database
from storage.migrate import upgrade
from storage.models import ServiceLocation
from tests.conftest import TEST_BOX, sqlite_url
from tests.storage.test_figures import seed, seed_broadcasts, seed_messages
from tests.web.conftest import StaffApp

MARCH = "start=2026-03-01&end=2026-03-31"


class Tables(HTMLParser):
    """Every table on a page, by the id of the figure (or the heading) it is under:
    {name: {row label: [cells]}}, the header row under the key "" ."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: dict[str, dict[str, list[str]]] = {}
        self.headline: dict[str, str] = {}
        self._name = ""
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._heading: list[str] | None = None
        self._dt: list[str] | None = None
        self._last_dt = ""
        self._dd: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "figure":
            self._name = dict(attrs).get("id") or ""
        elif tag == "h2" and not self._name:
            self._heading = []
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "dt":
            self._dt = []
        elif tag == "dd" and ("class", "number") in attrs:
            self._dd = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "figure":
            self._name = ""
        elif tag == "h2" and self._heading is not None:
            self._section = "".join(self._heading).strip()
            self._heading = None
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row:
            name = self._name or getattr(self, "_section", "")
            table = self.tables.setdefault(name, {})
            table["" if "" not in table else self._row[0]] = self._row[1:]
            self._row = None
        elif tag == "dt" and self._dt is not None:
            self._last_dt, self._dt = "".join(self._dt).strip(), None
        elif tag == "dd" and self._dd is not None:
            self.headline[self._last_dt], self._dd = "".join(self._dd).strip(), None

    def handle_data(self, data: str) -> None:
        for part in (self._cell, self._heading, self._dt, self._dd):
            if part is not None:
                part.append(data)


async def seed_all(database: Database, deployment: str) -> None:
    await seed(database)
    await seed_messages(database)
    await seed_broadcasts(database)
    async with database.session() as session:
        for place in ("Male", "Addu"):
            session.add(ServiceLocation(deployment=deployment, name=place))
    await database.dispose()


@pytest.fixture
async def seeded(staff_app: StaffApp) -> StaffApp:
    await seed_all(staff_app.database(), staff_app.settings.deployment)
    return staff_app


async def test_the_dashboard_shows_every_figure_of_the_seeded_month(seeded: StaffApp) -> None:
    page = await (await seeded.browser("staff")).get(f"/dashboard?{MARCH}")
    assert page.status_code == 200
    shown = Tables(page.text)
    # c0, c1, "old" and u0-u7 wrote in March; c0-c6 were new in it (u*, b* are new today).
    assert shown.headline["Conversations"] == "11"
    assert shown.headline["New contacts"] == "7"
    assert shown.headline["Requests opened"] == "12"
    assert shown.headline["Requests resolved"] == "8"
    assert shown.headline["Median time to first response"] == "2 h"
    assert shown.headline["Median time to resolution"] == "24 h"
    weekly = shown.tables["weekly"]
    assert weekly[""] == ["Opened", "Resolved"]
    assert weekly["2 Mar"] == ["6", "<5"]  # 5 resolved that week, hidden with the other:
    assert weekly["9 Mar"] == ["6", "<5"]  # 3 alone would be given away by the total 8
    assert weekly["16 Mar"] == ["0", "0"]
    by_category = shown.tables["by-value"]
    assert by_category["Food and hygiene"][0] == "9"
    assert by_category["Food and hygiene"][1] == "<5"  # 6, hidden beside legal aid's 2
    assert by_category["Legal aid"] == ["<5", "<5"]
    over_time = shown.tables["over-time"]
    assert over_time[""] == ["Food and hygiene", "Legal aid", "Shelter"]
    assert over_time["2 Mar"] == ["<5", "0", "0"]  # 6 food, hidden beside 3 the week after
    fallback = shown.tables["fallback"]
    assert fallback[""] == ["Bengali", "Hindi"]
    assert fallback["2 Mar"] == ["—", "82%"]  # 14 of 17; Bengali wrote nothing that week
    assert fallback["9 Mar"] == ["20%", "—"]  # 1 of 5
    assert shown.tables["topics"] == {"": ["People"], "salary": ["6"], "visa": ["5"]}
    reach = shown.tables["reach"]
    (title,) = (k for k in reach if k)
    assert "Dengue" in title
    assert reach[title] == ["5", "<5", "<5", "<5"]  # sent; delivered 2, failed 2, left 1
    # Charts are drawn on the server: SVG with labelled axes, nothing fetched from elsewhere.
    assert page.text.count('<svg xmlns="http://www.w3.org/2000/svg"') == 6
    assert ">Week beginning</text>" in page.text
    assert ">Requests</text>" in page.text
    assert not re.search(r'(?:src|href)="(?:https?:)?//(?!sahay\.test/)', page.text)


async def test_the_dashboard_narrows_to_a_location_and_a_breakdown(seeded: StaffApp) -> None:
    browser = await seeded.browser("admin")
    page = await browser.get(f"/dashboard?{MARCH}&location=Male&by=location")
    shown = Tables(page.text)
    assert shown.headline["Requests opened"] == "8"
    assert shown.headline["New contacts"] == "<5"  # c0-c2: 3
    assert shown.tables["over-time"][""] == ["Male"]
    assert shown.tables["fallback"]["2 Mar"] == ["—", "100%"]  # u0-u2: 9 of 9
    assert '<option value="Male" selected>' in page.text
    # A place Sahay does not know is no filter at all, not an empty page.
    everywhere = Tables((await browser.get(f"/dashboard?{MARCH}&location=Atlantis")).text)
    assert everywhere.headline["Requests opened"] == "12"


async def test_a_bad_period_is_explained_and_the_last_weeks_are_shown(seeded: StaffApp) -> None:
    browser = await seeded.browser("staff")
    for query in ("start=2026-13-01&end=2026-03-31", "start=2026-03-31&end=2026-03-01",
                  "start=2020-01-01&end=2026-03-31"):  # fmt: skip
        page = await browser.get(f"/dashboard?{query}")
        assert page.status_code == 400
        assert 'role="alert"' in page.text
        assert "showing the last 12 weeks" in page.text
        assert len(Tables(page.text).tables["weekly"]) == 1 + 12  # a header and 12 weeks


async def test_only_staff_and_admins_see_the_dashboard(seeded: StaffApp) -> None:
    caseworker = await seeded.browser("caseworker")
    assert (await caseworker.get("/dashboard")).status_code == 403
    assert (await caseworker.get("/dashboard/report?month=2026-03")).status_code == 403
    nobody = await seeded.browser(None)
    assert (await nobody.get("/dashboard")).status_code in (303, 401)
    home = await (await seeded.browser("staff")).get("/broadcasts")
    assert 'href="/dashboard"' in home.text


def workbook_tables(data: bytes) -> dict[str, list[list[object]]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return {
        sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)]
        for sheet in book.worksheets
    }


def table(rows: list[list[object]]) -> dict[object, list[object]]:
    """A sheet's table (title in A1, header in row 2) by its row labels."""
    body = {}
    for row in rows[2:]:
        if row[0] is None:
            break
        body[row[0]] = row[1:]
    return body


async def test_the_monthly_workbook_is_disaggregated_with_small_cells_hidden(
    seeded: StaffApp,
) -> None:
    browser = await seeded.browser("admin")
    response = await browser.get("/dashboard/report?month=2026-03&format=xlsx")
    assert response.status_code == 200
    assert 'filename="sahay-report-2026-03.xlsx"' in response.headers["content-disposition"]
    sheets = workbook_tables(response.content)
    summary = {row[0]: row[1] for row in sheets["Summary"] if row[0]}
    assert summary["Requests opened"] == 12
    assert summary["Conversations"] == 11
    assert summary["Median time to resolution"] == "24 h"
    by_gender = table(sheets["Requests by gender"])
    assert by_gender["female"] == [7, "<5"]  # opened 7; resolved 6, hidden beside 2
    assert by_gender["male"] == ["<5", 0]
    assert by_gender["Not given"] == ["<5", "<5"]
    assert table(sheets["Requests by location"])["Male"] == [8, 8]
    assert table(sheets["Requests by language"]) == {"Bengali": [6, "<5"], "Hindi": [6, "<5"]}
    assert table(sheets["Requests by age group"]) == {"Not given": [12, 8]}
    # Category by gender: food 6 women and 3 men; 3 is hidden, and so then is 6, or the
    # food total (9) would give the 3 away. Every cell under 5 reads <5, never its number.
    crossed = table(sheets["Category by gender"])
    assert crossed["Food and hygiene"] == ["<5", "<5", 0]
    for name, rows in sheets.items():
        if name.startswith("Not understood"):
            continue  # counts messages, not people
        for row in rows[2:]:
            assert not any(isinstance(v, int) and 0 < v < 5 for v in row[1:]), row
    # Nationality: 7 Bangladesh (6 resolved), 2 Nepal, 3 not given (2 resolved).
    assert table(sheets["Requests by nationality"]) == {
        "Bangladesh": [7, "<5"],
        "Nepal": ["<5", 0],
        "Not given": ["<5", "<5"],
    }
    assert "Category by nationality" in sheets
    database = seeded.database()
    async with database.session() as session:
        (event, *_) = await audit_log(session)
    await database.dispose()
    assert (event.action, event.target_type, event.target_id) == ("export", "report", "2026-03")
    assert event.detail["format"] == "xlsx"


async def test_the_printable_report_holds_the_charts_and_tables(seeded: StaffApp) -> None:
    browser = await seeded.browser("staff")
    response = await browser.get("/dashboard/report?month=2026-03&format=html&location=Male")
    assert response.status_code == 200
    assert 'filename="sahay-report-2026-03-Male.html"' in response.headers["content-disposition"]
    page = response.text
    assert "Sahay monthly report, March 2026, Male" in page
    assert page.count("<svg") == 5  # topics: in Male, fewer than 5 people used any word
    assert "Nothing in this period." in page
    assert "<script" not in page
    shown = Tables(page)
    assert shown.headline["Requests opened"] == "8"
    # In Male: food 6 and legal aid 2, opened and resolved: the 2 is hidden, so the 6 is too.
    assert shown.tables["Requests by category"] == {
        "": ["Opened", "Resolved"],
        "Food and hygiene": ["<5", "<5"],
        "Legal aid": ["<5", "<5"],
    }
    bad = await browser.get("/dashboard/report?month=March&format=xlsx")
    assert bad.status_code == 400
    assert "YYYY-MM" in bad.text


def test_sahay_report_monthly_writes_the_workbook_and_the_printable_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_url(tmp_path)
    upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    asyncio.run(seed_all(Database(url, TEST_BOX), "maldives"))
    out = tmp_path / "reports"
    assert cli.main(["report", "monthly", "--month", "2026-03", "--output", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "sahay-report-2026-03.html",
        "sahay-report-2026-03.xlsx",
    ]
    assert "Wrote" in capsys.readouterr().out
    sheets = workbook_tables((out / "sahay-report-2026-03.xlsx").read_bytes())
    assert table(sheets["Requests by category"])["Food and hygiene"] == [9, "<5"]
    assert "Sahay monthly report, March 2026" in (out / "sahay-report-2026-03.html").read_text()
    assert cli.main(["report", "monthly", "--month", "2026/03", "--output", str(out)]) == 2
    assert "YYYY-MM" in capsys.readouterr().err
