"""The lock files bin/setup installs agree with the inputs people edit: a pin
changed in requirements*.txt without re-running bin/lock fails here, not later on
someone's machine."""

import re
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
PIN = re.compile(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", re.MULTILINE)


def pins(path: Path) -> dict[str, str]:
    return {
        re.sub(r"[-_.]+", "-", name).lower(): version
        for name, version in PIN.findall(path.read_text())
    }


@pytest.mark.parametrize(
    ("requirements", "lock"),
    [
        ("requirements.txt", "requirements.lock"),
        ("requirements-test.txt", "requirements-test.lock"),
    ],
)
def test_every_pin_of_an_input_is_the_pin_of_its_lock(requirements, lock):
    wanted = pins(ROOT / requirements)
    if requirements != "requirements.txt":  # it includes the runtime input
        wanted |= pins(ROOT / "requirements.txt")
    locked = pins(ROOT / lock)
    assert {name: locked.get(name) for name in wanted} == wanted


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-test.lock"])
def test_every_locked_package_has_hashes(lock):
    entries = re.split(r"\n(?=[A-Za-z])", (ROOT / lock).read_text())
    packages = [entry for entry in entries if PIN.match(entry)]
    assert packages
    assert [e.split()[0] for e in packages if "--hash=sha256:" not in e] == []


def test_the_test_lock_keeps_the_runtime_locks_versions():
    runtime, test = (
        pins(ROOT / "requirements.lock"),
        pins(ROOT / "requirements-test.lock"),
    )
    assert {name: test.get(name) for name in runtime} == runtime
