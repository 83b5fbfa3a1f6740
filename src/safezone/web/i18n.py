"""Translations through Babel catalogs: Vietnamese by default, English on request.

Message ids are English. Each package may keep its own ``locale/<lang>/LC_MESSAGES/messages.po``
(web for the shell, each domain for its pages); they are merged into one catalog per language and
compiled in memory at start-up, so no compiled ``.mo`` file can go stale.
"""

from __future__ import annotations

import datetime as dt
import io
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import dates as babel_dates
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES: tuple[str, ...] = ("vi", "en")
DEFAULT_LOCALE = "vi"
LANG_COOKIE = "lang"

_current: ContextVar[str] = ContextVar("safezone_locale", default=DEFAULT_LOCALE)


_PACKAGE = Path(__file__).resolve().parent.parent


def catalog_files(locale: str) -> list[Path]:
    """Every package's catalog for ``locale`` (web first)."""
    pattern = f"**/locale/{locale}/LC_MESSAGES/messages.po"  # subpackages keep their own
    return sorted(_PACKAGE.glob(pattern), key=lambda path: (path.parts[-5] != "web", path))


@cache
def translations(locale: str) -> Translations:
    """The merged, compiled catalog of ``locale``."""
    merged = Catalog(locale=locale)
    for path in catalog_files(locale):
        with path.open("rb") as handle:
            for message in read_po(handle, locale=locale):
                if message.id and message.string:
                    merged[message.id] = message
    buffer = io.BytesIO()
    write_mo(buffer, merged)
    buffer.seek(0)
    return Translations(buffer)


def set_locale(locale: str) -> None:
    """Make ``locale`` current for this request or task."""
    _current.set(locale if locale in LOCALES else DEFAULT_LOCALE)


def get_locale() -> str:
    """The current locale."""
    return _current.get()


def gettext(message: str) -> str:
    """``message`` translated into the current locale."""
    return translations(get_locale()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The singular or plural form for ``count`` in the current locale."""
    return translations(get_locale()).ngettext(singular, plural, count)


def pick_locale(query_lang: str | None, cookie_lang: str | None) -> str:
    """``?lang=`` wins, then the remembered cookie, then Vietnamese."""
    for candidate in (query_lang, cookie_lang):
        if candidate in LOCALES:
            return candidate
    return DEFAULT_LOCALE


def format_number(value: int | float | None) -> str:
    """A number with the current locale's grouping (872.964 in Vietnamese, 872,964 in English)."""
    from babel.numbers import format_decimal

    if value is None:
        return "—"
    return format_decimal(value, locale=get_locale())


def _local_zone() -> dt.tzinfo:
    try:
        return ZoneInfo("Asia/Ho_Chi_Minh")
    except ZoneInfoNotFoundError:  # no tz database on the host: Vietnam keeps UTC+7 all year
        return dt.timezone(dt.timedelta(hours=7), "ICT")


#: Where the readers are: every time shown on a page is converted to this zone.
LOCAL_ZONE = _local_zone()
#: One date pattern for both languages, the one the date inputs take (dd/mm/yyyy).
DATE_PATTERN = "dd/MM/yyyy"
TIME_PATTERN = "HH:mm"
#: Babel locale whose conventions each page language follows. English pages are read in
#: Vietnam, so they follow British conventions (day first, 24-hour clock), never US ones.
BABEL_LOCALES = {"vi": "vi", "en": "en_GB"}


def babel_locale(locale: str | None = None) -> str:
    """The Babel locale for a page language (the current one when None)."""
    return BABEL_LOCALES.get(locale or get_locale(), DEFAULT_LOCALE)


def _aware(value: dt.datetime) -> dt.datetime:
    # Stored datetimes are UTC; SQLite may hand them back naive.
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def format_date(value: dt.date | dt.datetime | str | None) -> str:
    """A date as dd/mm/yyyy; a datetime is first moved to Vietnam's time zone.

    ISO text (a date kept in JSON) is formatted too; other text is shown as it is.
    """
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        text = value
        try:
            value = dt.date.fromisoformat(text)
        except ValueError:
            return text
    if isinstance(value, dt.datetime):
        value = _aware(value).astimezone(LOCAL_ZONE).date()
    return babel_dates.format_date(value, DATE_PATTERN, locale=babel_locale())


def format_time(value: dt.datetime | None) -> str:
    """The time of day in Vietnam (24-hour clock)."""
    if value is None:
        return "—"
    return babel_dates.format_time(
        _aware(value), TIME_PATTERN, tzinfo=LOCAL_ZONE, locale=babel_locale()
    )


def format_datetime(value: dt.datetime | None) -> str:
    """Date and time in Vietnam, joined the way the language does (``14:05 30/11/2026`` in
    Vietnamese, ``30/11/2026, 14:05`` in English)."""
    if value is None:
        return "—"
    locale = babel_locale()
    joined = str(babel_dates.get_datetime_format("short", locale=locale))
    return joined.replace("{1}", format_date(value)).replace("{0}", format_time(value))
