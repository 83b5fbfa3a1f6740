"""safezone.tabular: CSV/XLSX reading with line numbers, header checks, per-row errors."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook

from safezone import tabular
from safezone.errors import InvalidInput


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_csv_with_bom_blank_lines_and_quoted_newlines_keep_line_numbers() -> None:
    data = '\ufeffUnit_Code, App ,installs\n\n22015,ncovi,10\n"2\n2018",bluezone,5\n22021,x,7\n'
    table = tabular.read_table(data.encode(), required=["unit_code", "app", "installs"])
    assert table.columns == ("unit_code", "app", "installs")
    assert [r.line for r in table.rows] == [3, 4, 6]
    assert table.rows[0].values == {"unit_code": "22015", "app": "ncovi", "installs": "10"}
    assert table.rows[1].get("unit_code") == "2\n2018"


def test_xlsx_cells_become_text_like_csv() -> None:
    data = _xlsx(
        [
            ["unit_code", "installs", "as_of", "note"],
            ["22015", 10.0, dt.datetime(2026, 11, 1), None],
            [None, None, None, None],
            [22021, 7, dt.date(2026, 11, 2), "x"],
        ]
    )
    table = tabular.read_table(data, required=["unit_code", "installs", "as_of"], optional=["note"])
    assert [r.line for r in table.rows] == [2, 4]
    assert table.rows[0].values == {
        "unit_code": "22015",
        "installs": "10",
        "as_of": "2026-11-01",
        "note": "",
    }
    assert table.rows[1].get("unit_code") == "22021"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"\n\n", "empty"),
        (b"\xff\xfeu\x00", "encoding"),
        (b"PK\x03\x04garbage", "xlsx"),
        (b"unit_code,app\n1,2\n", "missing_column"),
        (b"unit_code,app,installs,colour\n", "unknown_column"),
        (b"unit_code,app,installs,app\n", "duplicate_column"),
    ],
)
def test_file_level_problems_raise_with_a_code(data: bytes, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        tabular.read_table(data, required=["unit_code", "app", "installs"])
    codes = [e.code for e in caught.value.errors]
    assert code in codes
    assert all(e.message_vi and e.message_en for e in caught.value.errors)


def test_errors_are_collected_per_row_and_named_by_line_and_column() -> None:
    data = b"name,count,when,share,kind\n,x,31/02/2026,150%,agency\nok,3,01/02/2026,80,alien\n"
    table = tabular.read_table(data, required=["name", "count", "when", "share", "kind"])
    report = tabular.Report(total=len(table.rows))
    for row in table.rows:
        tabular.parse_text(report, row, "name")
        tabular.parse_int(report, row, "count")
        tabular.parse_date(report, row, "when")
        tabular.parse_share(report, row, "share")
        tabular.parse_choice(report, row, "kind", ["agency", "school"])
    assert [(e.line, e.column, e.code) for e in report.errors] == [
        (2, "name", "required"),
        (2, "count", "not_integer"),
        (2, "when", "bad_date"),
        (2, "share", "out_of_range"),
        (3, "kind", "unknown_value"),
    ]
    with pytest.raises(InvalidInput) as caught:
        report.raise_if_errors()
    first = caught.value.errors[0]
    assert first.field == "line[2].name"
    assert first.message_vi.startswith("dòng 2, cột name")
    assert first.message_en.startswith("line 2, column name")


def test_accepted_refuses_a_file_with_errors_unless_skipping(tmp_path: Path) -> None:
    data = b"code,n\na,1\nb,x\nc,3\na,4\n"
    table = tabular.read_table(data, required=["code", "n"])
    report = tabular.Report(total=len(table.rows))
    for row in table.rows:
        tabular.parse_int(report, row, "n")
    tabular.check_unique(report, table.rows, lambda r: r.get("code"))
    with pytest.raises(InvalidInput):
        report.accepted(table.rows, skip_bad_rows=False)
    good = report.accepted(table.rows, skip_bad_rows=True)
    assert [r.get("code") for r in good] == ["a", "c"]
    assert report.skipped == 2
    out = tmp_path / "skipped.csv"
    assert tabular.write_skipped(out, table, report) == 2
    written = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert written[0] == ["line", "code", "n", "errors"]
    assert [w[:3] for w in written[1:]] == [["3", "b", "x"], ["5", "a", "4"]]
    assert "Duplicates line 2" in written[2][3]
    assert report.skipped_file == out


def test_extra_cells_are_flagged() -> None:
    table = tabular.read_table(b"a,b\n1,2,3\n4,5,\n", required=["a", "b"])
    report = tabular.Report()
    tabular.check_shape(table, report)
    assert [(e.line, e.code) for e in report.errors] == [(2, "extra_cells")]


def test_future_dates_refused_when_asked() -> None:
    table = tabular.read_table(b"d\n2026-12-01\n", required=["d"])
    report = tabular.Report()
    assert tabular.parse_date(report, table.rows[0], "d", not_after=dt.date(2026, 11, 30)) is None
    assert report.errors[0].code == "future_date"


def test_digest_is_of_the_bytes() -> None:
    assert tabular.digest_bytes(b"x") == tabular.digest_bytes(b"x")
    assert tabular.digest_bytes(b"x") != tabular.digest_bytes(b"x\n")
    table = tabular.read_table(b"a\n1\n", required=["a"])
    assert table.digest == tabular.digest_bytes(b"a\n1\n")


def test_progress_hook_sees_the_end() -> None:
    calls: list[tuple[int, int]] = []
    items = list(range(5))
    assert list(tabular.with_progress(items, lambda d, t: calls.append((d, t)), every=2)) == items
    assert calls == [(0, 5), (2, 5), (4, 5), (5, 5)]


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_parse_int_round_trips_and_checks_range(value: int) -> None:
    row = tabular.Row(2, {"n": str(value)})
    report = tabular.Report()
    got = tabular.parse_int(report, row, "n", minimum=0, maximum=10**9)
    if 0 <= value <= 10**9:
        assert got == value
        assert report.ok
    else:
        assert got is None
        assert report.errors[0].code == "out_of_range"


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(9999, 12, 31)))
def test_parse_date_reads_both_spellings(day: dt.date) -> None:
    for text in (day.isoformat(), day.strftime("%d/%m/%Y")):
        report = tabular.Report()
        assert tabular.parse_date(report, tabular.Row(2, {"d": text}), "d") == day


@given(
    st.lists(
        st.lists(
            st.text(
                alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\x00"),
                max_size=8,
            ),
            min_size=2,
            max_size=2,
        ),
        max_size=8,
    )
)
def test_csv_rows_round_trip_with_their_lines(rows: list[list[str]]) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["a", "b"])
    starts: list[int] = []
    for row in rows:
        if any(c.strip() for c in row):
            starts.append(out.getvalue().count("\n") + 1)
        writer.writerow(row)
    table = tabular.read_table(out.getvalue().encode(), required=["a", "b"])
    kept = [r for r in rows if any(c.strip() for c in r)]
    assert [(r.get("a"), r.get("b")) for r in table.rows] == [
        (a.strip(), b.strip()) for a, b in kept
    ]
    # Each row's line number is the line where its record starts in the file.
    assert [r.line for r in table.rows] == starts
