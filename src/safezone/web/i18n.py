"""Translations through Babel catalogs: Vietnamese by default, English on request.

Message ids are English. Each package may keep its own ``locale/<lang>/LC_MESSAGES/messages.po``
(web for the shell, each domain for its pages); they are merged into one catalog per language and
compiled in memory at start-up, so no compiled ``.mo`` file can go stale.
"""

from __future__ import annotations

import io
from contextvars import ContextVar
from functools import cache
from pathlib import Path

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
    pattern = f"*/locale/{locale}/LC_MESSAGES/messages.po"
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
