"""The conversation core stays pure: no network libraries, no wall clock, no global random."""

from __future__ import annotations

import ast
from pathlib import Path

import piyasa_bot.conversation as conversation

PACKAGE = Path(conversation.__file__).parent
FORBIDDEN_MODULES = ("aiogram", "asyncpg", "aiohttp", "time", "secrets", "uuid")
FORBIDDEN_CALLS = {("datetime", "now"), ("datetime", "utcnow"), ("date", "today"), ("datetime", "today")}


def modules() -> list[tuple[str, ast.Module]]:
    return [(path.name, ast.parse(path.read_text())) for path in sorted(PACKAGE.glob("*.py"))]


def test_no_io_or_clock_imports() -> None:
    for name, tree in modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                roots = [(node.module or "").split(".")[0]]
            else:
                continue
            assert not set(roots) & set(FORBIDDEN_MODULES), (name, roots)


def test_no_wall_clock_and_no_global_random() -> None:
    for name, tree in modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                pair = (node.value.id, node.attr)
                assert pair not in FORBIDDEN_CALLS, (name, pair)
                # Only random.Random (a seeded instance) may be used from the module.
                if node.value.id == "random":
                    assert node.attr == "Random", (name, node.attr)
            if isinstance(node, ast.ImportFrom) and node.module == "random":
                assert all(alias.name == "Random" for alias in node.names), name


def test_modules_stay_small() -> None:
    sizes = {path.name: len(path.read_text().splitlines()) for path in PACKAGE.glob("*.py")}
    assert max(sizes.values()) <= 300, sizes
