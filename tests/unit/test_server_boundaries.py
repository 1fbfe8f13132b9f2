"""Only the server adapter knows the server: no other module of the project imports
Daphne, Twisted or autobahn (or txaio, autobahn's), so that what the start-up check
covers is everything the project relies on of theirs. And channels-redis is only
configured (settings name its layer), never imported: nothing of ours depends on
its insides."""

import ast
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
APPS = ("chat", "accounts", "chatsite")
ADAPTER = Path("chatsite/server_adapter.py")
SERVER_PACKAGES = {"daphne", "twisted", "autobahn", "txaio"}


def imported_packages(source: str) -> set[str]:
    """The top-level packages a module imports, wherever the import statement is."""
    packages = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            packages.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            packages.add(node.module.partition(".")[0])
    return packages


def test_only_the_server_adapter_imports_daphne_twisted_or_autobahn():
    assert (ROOT / ADAPTER).exists()
    importers = {}
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if relative == ADAPTER:
                continue
            found = imported_packages(path.read_text()) & SERVER_PACKAGES
            if found:
                importers[str(relative)] = sorted(found)
    assert importers == {}


def test_nothing_of_ours_imports_channels_redis():
    importers = [
        str(path.relative_to(ROOT))
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        if "channels_redis" in imported_packages(path.read_text())
    ]
    assert importers == []


def test_an_import_anywhere_in_a_module_counts():
    source = "def serve():\n    from twisted.internet import reactor\n"
    assert imported_packages(source) == {"twisted"}
    assert imported_packages("import autobahn.exception as a") == {"autobahn"}
    assert imported_packages("from . import daphne") == set()  # our own module
