"""Look-alike names: the skeleton of a string (Unicode Technical Standard #39, 4),
and the key under which two usernames count as the same name.

Two strings are confusable when their skeletons are equal: Cyrillic "а" and Latin
"a", "rn" and "m", "l" and "I" and "1" share one. The table is Unicode's
confusables.txt (accounts/data/, trimmed of comments; version in its header).
Why not a library: confusable_homoglyphs answers "does this string mix scripts",
and confusables compares two strings at a time; neither gives the skeleton, which
is what can be stored and indexed to compare one name with every existing one.
"""

import unicodedata
from functools import cache
from pathlib import Path

TABLE = Path(__file__).resolve().parent / "data" / "confusables.txt"


@cache
def prototypes() -> dict[str, str]:
    """Each confusable character -> its prototype (one or more characters)."""
    table = {}
    for line in TABLE.read_text(encoding="utf-8-sig").splitlines():
        data = line.split("#", 1)[0]
        if ";" not in data:
            continue
        source, target = data.split(";")[:2]
        table[chr(int(source, 16))] = "".join(
            chr(int(code, 16)) for code in target.split()
        )
    return table


def skeleton(text: str) -> str:
    """UTS #39 skeleton: NFD, each character replaced by its prototype, NFD again."""
    table = prototypes()
    decomposed = unicodedata.normalize("NFD", text)
    mapped = "".join(table.get(character, character) for character in decomposed)
    return unicodedata.normalize("NFD", mapped)


def username_key(username: str) -> str:
    """Usernames with equal keys look the same: equal skeletons, ignoring case
    (Django already refuses names that differ only in case; casefolding the
    skeleton carries that over to look-alikes such as "Аna" for "ana")."""
    return skeleton(skeleton(username).casefold())
