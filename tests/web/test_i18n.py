"""The portal's languages: every text of its pages comes from the catalogues, Korean
translates all of it, and the catalogues are what the sources mark."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from reclaim.web.i18n import (
    LANGUAGES,
    TEMPLATE,
    catalogue_path,
    choose_language,
    extract_messages,
    translations,
)
from reclaim.web.pages import MESSAGES, TEMPLATES

_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_TAG = re.compile(r"<[^>]*>", re.S)


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_no_template_holds_text_outside_the_catalogues(template: str) -> None:
    source = _JINJA.sub(" ", (TEMPLATES / template).read_text())
    for attribute, value in re.findall(
        r'(aria-label|title|placeholder|alt|data-text-[\w-]+)="([^"]*)"', source
    ):
        assert not re.search(r"\w", value), f"{template}: {attribute} not marked for translation"
    bare = _TAG.sub(" ", source)
    bare = re.sub(r"&[a-z]+;|&#\d+;", " ", bare)
    assert not re.search(r"\w", bare), (
        f"{template}: text not marked for translation: {bare.split()}"
    )


def test_the_catalogue_template_holds_what_the_sources_mark() -> None:
    with TEMPLATE.open("rb") as source:
        kept = {m.id for m in read_po(source) if m.id}
    marked = {m.id for m in extract_messages() if m.id}
    assert kept == marked, "run `python -m reclaim.web.i18n` to update the catalogues"
    assert {message for message in MESSAGES.values()} <= {m for m in marked if isinstance(m, str)}


@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != "en"])
def test_each_language_translates_every_message(language: str) -> None:
    with catalogue_path(language).open("rb") as source:
        catalogue = read_po(source, locale=language)
    with TEMPLATE.open("rb") as source:
        wanted = {m.id for m in read_po(source) if m.id}
    translated = {
        m.id
        for m in catalogue
        if m.id and all(m.string if isinstance(m.string, tuple) else [m.string])
    }
    assert wanted - translated == set(), "untranslated messages"
    fuzzy = [m.id for m in catalogue if m.id and m.fuzzy]
    assert not fuzzy, f"guessed translations to check (a page shows English for them): {fuzzy}"
    for message in catalogue:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:  # the same placeholders, so formatting cannot fail
            assert set(re.findall(r"%\(\w+\)\w|\{\w+\}", text)) == set(
                re.findall(r"%\(\w+\)\w|\{\w+\}", ids[0])
            ), message.id
    assert translations(language).gettext("Case number") != "Case number"


@pytest.mark.parametrize(
    ("chosen", "accept", "expected"),
    [(None, None, "en"), ("xx", "ko", "ko"), ("en", "ko", "en"), (None, "*", "en"),
     (None, "en;q=0.1, ko;q=0.2", "ko"), (None, ";;,,", "en")],
)  # fmt: skip
def test_choose_language(chosen: str | None, accept: str | None, expected: str) -> None:
    assert choose_language(chosen, accept) == expected
