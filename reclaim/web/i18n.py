"""The portal's languages: English (the messages as written) and Korean, from gettext
catalogues (``translations/<lang>/LC_MESSAGES/messages.po``, kept with Babel).

A page's language is the one the visitor chose with the switch (a cookie), else the best
of the browser's ``Accept-Language``, else English.
"""

from __future__ import annotations

from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Final

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import NullTranslations, Translations

TRANSLATIONS: Final = Path(__file__).resolve().parent / "translations"
#: Each language by its own name, as the switch shows it.
LANGUAGES: Final = {"en": "English", "ko": "한국어"}
DEFAULT: Final = "en"
COOKIE: Final = "reclaim_lang"


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> NullTranslations:
    """The catalogue of ``language`` (English: the messages themselves)."""
    if language == DEFAULT:
        return NullTranslations()
    with catalogue_path(language).open("rb") as source:
        catalogue = read_po(source, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return Translations(compiled)


def choose_language(chosen: str | None, accept_language: str | None) -> str:
    """The page's language: the visitor's choice if known, else the browser's best."""
    if chosen in LANGUAGES:
        return chosen
    wanted = [_tag(part) for part in (accept_language or "").split(",")]
    ranked = sorted((w for w in wanted if w), key=lambda w: -w[1])
    return next((tag for tag, _ in ranked if tag in LANGUAGES), DEFAULT)


def _tag(part: str) -> tuple[str, float] | None:
    tag, _, parameters = part.strip().partition(";")
    tag = tag.strip().lower()
    if not tag or tag == "*":
        return None
    quality = 1.0
    if parameters.strip().startswith("q="):
        try:
            quality = float(parameters.strip()[2:])
        except ValueError:
            return None
    return tag.split("-")[0], quality


# --- keeping the catalogues (``python -m reclaim.web.i18n``) -----------------------------

PACKAGE: Final = Path(__file__).resolve().parent
TEMPLATE: Final = TRANSLATIONS / "messages.pot"
_SOURCES: Final = [
    ("templates/**.html", "jinja2.ext:babel_extract"),
    ("*.py", "python"),
]


def extract_messages() -> Catalog:
    """Every message the portal's templates and Python code mark for translation."""
    catalogue = Catalog(project="Reclaim", fuzzy=False)
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "false"}}
    for filename, line, message, comments, context in extract_from_dir(
        PACKAGE, _SOURCES, options_map=options, keywords={**DEFAULT_KEYWORDS, "N_": None}
    ):
        catalogue.add(message, None, [(filename, line)], auto_comments=comments, context=context)
    return catalogue


def catalogue_path(language: str) -> Path:
    return TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"


def update_catalogues() -> list[str]:
    """Write the message template and merge it into each language's catalogue (new
    messages come in untranslated; gone ones are dropped). The languages updated."""
    template = extract_messages()
    with TEMPLATE.open("wb") as out:
        write_po(out, template, omit_header=True, sort_output=True, width=100)
    updated = []
    for language in LANGUAGES:
        if language == DEFAULT:
            continue
        path = catalogue_path(language)
        if path.exists():
            with path.open("rb") as source:
                catalogue = read_po(source, locale=language)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalogue = Catalog(locale=language, project="Reclaim", fuzzy=False)
        catalogue.update(template, no_fuzzy_matching=True, update_header_comment=False)
        catalogue.obsolete.clear()
        catalogue.header_comment = f"# {LANGUAGES[language]}: the survivor portal's messages.\n#"
        catalogue.project, catalogue.version = "Reclaim", ""
        catalogue.msgid_bugs_address = catalogue.last_translator = catalogue.language_team = ""
        with path.open("wb") as out:
            write_po(out, catalogue, sort_output=True, width=100, include_previous=False)
        updated.append(language)
    return updated


if __name__ == "__main__":
    print("updated:", ", ".join(update_catalogues()))
