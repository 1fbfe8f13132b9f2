"""Look-alike names (accounts.confusables): UTS #39 skeletons, and the username
key that also ignores case."""

import pytest

from accounts.confusables import skeleton, username_key


@pytest.mark.parametrize(
    "look_alike, original",
    [
        ("\u0430na", "ana"),  # Cyrillic small a
        ("p\u0430yp\u0430l", "paypal"),
        ("rn", "m"),
        ("I", "l"),  # Latin capital I and small L
        ("\uff41na", "ana"),  # fullwidth a
        ("\u0391\u039d\u0391", "ANA"),  # Greek capitals
    ],
)
def test_look_alikes_share_a_skeleton(look_alike, original):
    assert skeleton(look_alike) == skeleton(original)


def test_different_names_keep_different_skeletons():
    assert skeleton("ana") != skeleton("anna")
    assert skeleton("张三") == "张三"


def test_the_username_key_ignores_case_too():
    assert username_key("Ana") == username_key("\u0430NA") == username_key("ana")
    assert username_key("bob") != username_key("ana")
