"""Vietnamese formats: dates dd/mm/yyyy, times in Vietnam, plurals, the form date parser."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from safezone.errors import InvalidInput
from safezone.web import dates, i18n
from safezone.web.templating import environment

# 20:07 UTC on 5 March is 03:07 on 6 March in Vietnam: the day changes too.
LATE_EVENING_UTC = dt.datetime(2026, 3, 5, 20, 7, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _vietnamese_afterwards() -> Iterator[None]:
    yield
    i18n.set_locale("vi")


def test_dates_are_day_first_in_both_languages() -> None:
    for locale in ("vi", "en"):
        i18n.set_locale(locale)
        assert i18n.format_date(dt.date(2026, 3, 5)) == "05/03/2026"
        assert i18n.format_date("2026-03-05") == "05/03/2026"  # a date kept in JSON
        assert i18n.format_date(None) == "—"
        assert i18n.format_date("not a date") == "not a date"


def test_times_are_shown_in_vietnam_in_each_languages_order() -> None:
    i18n.set_locale("vi")
    assert i18n.format_datetime(LATE_EVENING_UTC) == "03:07 06/03/2026"
    assert i18n.format_date(LATE_EVENING_UTC) == "06/03/2026"
    i18n.set_locale("en")
    assert i18n.format_datetime(LATE_EVENING_UTC) == "06/03/2026, 03:07"
    # SQLite hands stored UTC times back without a zone: still read as UTC.
    assert i18n.format_datetime(LATE_EVENING_UTC.replace(tzinfo=None)) == "06/03/2026, 03:07"
    assert i18n.format_time(LATE_EVENING_UTC) == "03:07"


def test_template_filters_and_plurals() -> None:
    template = environment.from_string(
        "{{ day | date }} {{ at | datetime }} {{ n | number }} "
        "{{ ngettext('%(num)s declaration', '%(num)s declarations', n, num=n | number) }}"
    )
    i18n.set_locale("en")
    assert template.render(day=dt.date(2026, 4, 30), at=LATE_EVENING_UTC, n=1) == (
        "30/04/2026 06/03/2026, 03:07 1 1 declaration"
    )
    assert template.render(day=dt.date(2026, 4, 30), at=LATE_EVENING_UTC, n=1234).endswith(
        "1,234 1,234 declarations"
    )
    i18n.set_locale("vi")
    assert template.render(day=dt.date(2026, 4, 30), at=LATE_EVENING_UTC, n=1234) == (
        "30/04/2026 03:07 06/03/2026 1.234 1.234 tờ khai"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30/04/2021", dt.date(2021, 4, 30)),
        ("1/5/2021", dt.date(2021, 5, 1)),
        ("01.05.2021", dt.date(2021, 5, 1)),
        ("01-05-2021", dt.date(2021, 5, 1)),
        (" 2021-05-01 ", dt.date(2021, 5, 1)),
        ("", None),
        (None, None),
    ],
)
def test_form_dates_take_day_first_or_iso(text: str | None, expected: dt.date | None) -> None:
    assert dates.parse_date(text, "test_date") == expected


@pytest.mark.parametrize("text", ["31/02/2021", "05/30/2021", "2021/05/01", "hôm qua", "1/5/21"])
def test_a_bad_form_date_names_the_field_in_both_languages(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        dates.parse_date(text, "symptom_date")
    (error,) = caught.value.errors
    assert (error.field, error.code) == ("symptom_date", "invalid_date")
    assert "dd/mm/yyyy" in error.message_vi
    assert "Ngày" in error.message_vi
    assert "dd/mm/yyyy" in error.message_en


def test_every_bad_date_of_a_form_is_reported_at_once() -> None:
    with pytest.raises(InvalidInput) as caught:
        dates.parse_dates({"date_from": "32/01/2021", "date_to": "x", "day": "01/01/2021"})
    assert [e.field for e in caught.value.errors] == ["date_from", "date_to"]
    assert dates.parse_dates({"a": "", "b": "2/1/2021"}) == {"a": None, "b": dt.date(2021, 1, 2)}


def test_dates_go_back_into_inputs_day_first() -> None:
    assert dates.form_value(dt.date(2021, 5, 1)) == "01/05/2021"
    assert dates.form_value("2021-05-01") == "01/05/2021"
    assert dates.form_value("hôm qua") == "hôm qua"  # kept as typed, next to its error
    assert dates.form_value(None) == ""
    assert dates.iso_or_raw("1/5/2021") == "2021-05-01"
    assert dates.iso_or_raw("hôm qua") == "hôm qua"
