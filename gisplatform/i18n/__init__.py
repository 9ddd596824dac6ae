"""Messages people read, in Ukrainian (first) and English, from one catalogue.

A message is a :class:`Text`: both languages at once, so the language is chosen where the
message is shown — by the request (``lang`` / ``Accept-Language``) in the API, by the locale
in the CLI — not where it is raised. ``str(text)`` gives the current language, which
:func:`use_language` sets for a request or a command; Ukrainian when nothing set it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal

from gisplatform.i18n.catalogue import CATALOGUE

Lang = Literal["uk", "en"]
LANGUAGES: tuple[Lang, ...] = ("uk", "en")
DEFAULT_LANGUAGE: Lang = "uk"

_current: ContextVar[Lang] = ContextVar("gisplatform_language", default=DEFAULT_LANGUAGE)


def current_language() -> Lang:
    """The language messages are shown in now."""
    return _current.get()


@contextmanager
def use_language(lang: Lang) -> Iterator[None]:
    """Show messages in ``lang`` inside the block."""
    token = _current.set(lang)
    try:
        yield
    finally:
        _current.reset(token)


def set_language(lang: Lang) -> None:
    """Show messages in ``lang`` from now on in this context (a CLI command)."""
    _current.set(lang)


def locale_language(environ: dict[str, str] | None = None) -> Lang:
    """The CLI's language: ``GISPLATFORM_LANG``, else the locale; Ukrainian unless English."""
    env = os.environ if environ is None else environ
    for name in ("GISPLATFORM_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "").strip().lower()
        if value and value not in ("c", "posix") and not value.startswith("c."):
            return "en" if value.startswith("en") else "uk"
    return DEFAULT_LANGUAGE


@dataclass(frozen=True, slots=True)
class Text:
    """One message in both languages; ``str()`` renders it in the current language."""

    uk: str
    en: str
    #: the catalogue key it came from ("" for texts made otherwise)
    key: str = ""

    def get(self, lang: str) -> str:
        """The message in ``lang`` (Ukrainian for anything but ``en``)."""
        return self.en if lang == "en" else self.uk

    def __str__(self) -> str:
        return self.get(current_language())

    def __add__(self, other: Text | str) -> Text:
        if isinstance(other, Text):
            return Text(self.uk + other.uk, self.en + other.en, self.key)
        return Text(self.uk + other, self.en + other, self.key)

    def __contains__(self, part: str) -> bool:
        return part in self.uk or part in self.en


def message(key: str, /, **values: object) -> Text:
    """The catalogue's message ``key`` with ``values`` filled in (each may be a Text)."""
    entry = CATALOGUE[key]
    return Text(
        entry["uk"].format(**{k: _value(v, "uk") for k, v in values.items()}),
        entry["en"].format(**{k: _value(v, "en") for k, v in values.items()}),
        key,
    )


def _value(value: object, lang: str) -> object:
    return value.get(lang) if isinstance(value, Text) else value


def join(parts: list[Text], separator: str = "; ") -> Text:
    """Several messages as one."""
    return Text(separator.join(p.uk for p in parts), separator.join(p.en for p in parts))


class TextError(ValueError):
    """A ``ValueError`` whose message is a :class:`Text` (values that do not parse)."""

    def __init__(self, text: Text) -> None:
        self.text = text
        super().__init__(text.en)

    def __str__(self) -> str:
        return str(self.text)


def invalid(key: str, /, **values: object) -> TextError:
    """A :class:`TextError` with the catalogue's message ``key``."""
    return TextError(message(key, **values))


def reason(exc: Exception) -> Text | str:
    """The message of ``exc``, in both languages when it has them."""
    text = getattr(exc, "text", None)
    return text if isinstance(text, Text) else str(exc)
