"""The package's shape: a pure core, no import circles, files of one concern."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "bot"
PURE = ("bot.core", "bot.content", "bot.text", "bot.replies")  # what decides, never how it is carried
MAX_LINES = 450


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}
GRAPH = {name: {m for m in imports(path) if m in MODULES and m != name} for name, path in MODULES.items()}


def test_the_core_never_imports_telegram_or_sqlite() -> None:
    for name, path in MODULES.items():
        if name.startswith(PURE):
            outside = {m.split(".")[0] for m in imports(path)} & {"telegram", "sqlite3", "httpx", "aiohttp"}
            assert not outside, f"{name} imports {sorted(outside)}"


def test_the_core_never_imports_the_doors_or_storage() -> None:
    for name in MODULES:
        if name.startswith(PURE):
            doors = {m for m in GRAPH[name] if m.startswith(("bot.telegram", "bot.storage", "bot.cli"))}
            assert not doors, f"{name} imports {sorted(doors)}"


def test_there_are_no_import_circles() -> None:
    def reach(start: str) -> set[str]:
        seen: set[str] = set()
        todo = list(GRAPH[start])
        while todo:
            m = todo.pop()
            if m not in seen:
                seen.add(m)
                todo.extend(GRAPH[m])
        return seen

    circles = sorted(name for name in GRAPH if name in reach(name))
    assert not circles, f"modules that import themselves through others: {circles}"


def test_no_file_holds_too_much() -> None:
    long = {
        name: n
        for name, p in MODULES.items()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"over {MAX_LINES} lines: {long}"
