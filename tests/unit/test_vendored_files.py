"""The front-end libraries copied into static/vendor/ are exactly the files its
README lists, byte for byte: nothing is edited, added or left behind there without
the list (versions, integrities, hashes) changing with it."""

import hashlib
import re
from pathlib import Path

from django.conf import settings

VENDOR = Path(settings.BASE_DIR) / "static" / "vendor"
LISTED = re.compile(r"^([0-9a-f]{64})  (\S+)$", re.MULTILINE)


def listed_hashes() -> dict[str, str]:
    return {
        path: digest
        for digest, path in LISTED.findall((VENDOR / "README.md").read_text())
    }


def test_every_vendored_file_is_listed_with_its_sha256():
    present = {
        path.relative_to(VENDOR).as_posix(): hashlib.sha256(
            path.read_bytes()
        ).hexdigest()
        for path in VENDOR.rglob("*")
        if path.is_file() and path.name != "README.md"
    }
    assert listed_hashes(), "static/vendor/README.md lists no files"
    assert present == listed_hashes()
