"""The translation files: every string translated, every .mo compiled from its .po
as it is now, placeholders kept; and the socket's language chosen like a request's.

A new or changed string makes these fail until `bin/messages` is run and the
msgstr filled in (README, "Languages").
"""

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import RequestFactory, override_settings
from django.utils.translation import get_language_from_request, to_locale

from chat.languages import socket_language

LOCALE_DIR = Path(settings.BASE_DIR) / "locale"
PO_FILES = sorted(LOCALE_DIR.glob("*/LC_MESSAGES/*.po"))
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def read_po(path: Path) -> list[dict]:
    """The entries of a .po file: msgid, msgctxt and msgid_plural when present,
    msgstr (a dict by plural index) and whether it is fuzzy. Obsolete (#~) entries
    are left out. PO string escapes are Python's, so literal_eval reads them."""
    entries: list[dict] = []
    entry: dict | None = None
    field = ""

    def start() -> dict:
        if entry is not None and "msgid" in entry:
            entries.append(entry)
        return {"fuzzy": False, "msgstr": {}}

    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#~"):
            continue
        if line.startswith("#"):
            if entry is None or "msgid" in entry:
                entry = start()
            if line.startswith("#,") and "fuzzy" in line:
                entry["fuzzy"] = True
            continue
        if line.startswith('"'):
            value = ast.literal_eval(line)
        else:
            field, _, rest = line.partition(" ")
            if entry is None or (field in ("msgctxt", "msgid") and "msgid" in entry):
                entry = start()
            value = ast.literal_eval(rest)
        if field.startswith("msgstr"):
            index = int(field[len("msgstr[") : -1]) if field != "msgstr" else 0
            entry["msgstr"][index] = entry["msgstr"].get(index, "") + value
        else:
            entry[field] = entry.get(field, "") + value
    start()
    return entries


def catalog_from_po(path: Path) -> dict:
    """What msgfmt puts in the .mo: translated, non-fuzzy entries (and the header),
    keyed as Python's gettext keys its catalog."""
    catalog = {}
    for entry in read_po(path):
        if entry["msgid"] and (entry["fuzzy"] or not all(entry["msgstr"].values())):
            continue
        key = entry["msgid"]
        if "msgctxt" in entry:
            key = f"{entry['msgctxt']}\x04{key}"
        if "msgid_plural" in entry:
            for index, text in entry["msgstr"].items():
                catalog[(key, index)] = text
        else:
            catalog[key] = entry["msgstr"][0]
    return catalog


def test_there_are_translation_files_for_every_language_but_english():
    languages = {path.parent.parent.name for path in PO_FILES}
    assert languages == {to_locale(code) for code, _ in settings.LANGUAGES} - {"en"}
    assert {path.name for path in PO_FILES} == {"django.po", "djangojs.po"}


@pytest.mark.parametrize(
    "po", PO_FILES, ids=lambda path: str(path.relative_to(LOCALE_DIR))
)
def test_every_string_has_a_finished_translation(po):
    unfinished = [
        entry["msgid"]
        for entry in read_po(po)
        if entry["msgid"] and (entry["fuzzy"] or not all(entry["msgstr"].values()))
    ]
    assert unfinished == [], f"translate these in {po.name}, then run bin/messages"


@pytest.mark.parametrize(
    "po", PO_FILES, ids=lambda path: str(path.relative_to(LOCALE_DIR))
)
def test_translations_keep_the_placeholders_of_the_english(po):
    for entry in read_po(po):
        for text in entry["msgstr"].values():
            if entry["msgid"] and text:
                assert sorted(PLACEHOLDER.findall(text)) == sorted(
                    PLACEHOLDER.findall(entry["msgid"])
                ), entry["msgid"]


@pytest.mark.parametrize(
    "po", PO_FILES, ids=lambda path: str(path.relative_to(LOCALE_DIR))
)
def test_compiled_catalog_is_the_po_file_as_it_is_now(po):
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"{mo.name} is missing: run bin/messages --compile"
    with mo.open("rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)._catalog
    # The header ("") is left out: msgfmt drops its POT-Creation-Date line.
    catalog.pop("")
    expected = catalog_from_po(po)
    expected.pop("")
    assert catalog == expected, (
        f"{mo.name} is not compiled from the current {po.name}: "
        "run bin/messages --compile"
    )


def test_po_reader_sees_fuzzy_and_empty_entries(tmp_path):
    """The checks above would pass vacuously if the reader missed entries."""
    po = tmp_path / "django.po"
    po.write_text(
        'msgid ""\nmsgstr "Language: zh_Hans\\n"\n\n'
        '#: a.py\nmsgid "done"\nmsgstr "好"\n\n'
        '#: a.py\n#, fuzzy, python-format\nmsgid "changed %(x)s"\n'
        'msgstr "旧 %(x)s"\n\n'
        'msgid ""\n"two "\n"lines"\nmsgstr ""\n\n'
        '#~ msgid "gone"\n#~ msgstr "没了"\n',
        encoding="utf-8",
    )
    entries = {entry["msgid"]: entry for entry in read_po(po)}
    assert set(entries) == {"", "done", "changed %(x)s", "two lines"}
    assert entries["changed %(x)s"]["fuzzy"]
    assert entries["two lines"]["msgstr"] == {0: ""}
    assert catalog_from_po(po) == {"": "Language: zh_Hans\n", "done": "好"}


# ---- the socket's language ---------------------------------------------------------


def scope_with(*, cookie: str | None, accept: str | None) -> dict:
    headers = [(b"accept-language", accept.encode())] if accept is not None else []
    cookies = {settings.LANGUAGE_COOKIE_NAME: cookie} if cookie is not None else {}
    return {"type": "websocket", "headers": headers, "cookies": cookies}


@pytest.mark.parametrize(
    ("cookie", "accept"),
    [
        (None, None),
        (None, "zh-Hans"),
        (None, "zh-CN,zh;q=0.9,en;q=0.8"),
        (None, "zh-TW"),
        (None, "zh"),
        (None, "en-US,en;q=0.9"),
        (None, "fr-FR,zh-Hans;q=0.5"),
        (None, "fr-FR,de;q=0.5"),
        (None, "*"),
        (None, "garbage;;q=x"),
        ("zh-hans", "en-US"),
        ("en", "zh-Hans"),
        ("klingon", "zh-Hans"),
        ("zh-cn", None),
    ],
)
def test_socket_picks_the_language_a_request_would_get(cookie, accept):
    request = RequestFactory().get("/")
    if cookie is not None:
        request.COOKIES[settings.LANGUAGE_COOKIE_NAME] = cookie
    if accept is not None:
        request.META["HTTP_ACCEPT_LANGUAGE"] = accept
    expected = get_language_from_request(request)
    assert socket_language(scope_with(cookie=cookie, accept=accept)) == expected


def test_socket_language_examples():
    assert socket_language(scope_with(cookie=None, accept="zh-CN")) == "zh-hans"
    assert socket_language(scope_with(cookie="zh-hans", accept="en")) == "zh-hans"
    assert socket_language(scope_with(cookie=None, accept=None)) == "en"


@override_settings(LANGUAGE_COOKIE_NAME="chat_language")
def test_socket_reads_the_configured_cookie_name():
    scope = {
        "headers": [],
        "cookies": {"chat_language": "zh-hans", "django_language": "en"},
    }
    assert socket_language(scope) == "zh-hans"
