"""
The project's imports run one way: no module imports itself back through others, and no app
imports an app above it. Every import statement counts, wherever it stands (inside a
function or under TYPE_CHECKING alike), since deferring an import hides a loop without
breaking it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Lowest first: an app may import the apps before it, never one after it. The front ends
# (the API and the pages) stand side by side and import neither each other nor ops.
LAYERS: list[set[str]] = [
    {"core"},
    {"delivery", "webhooks"},
    {"accounts"},
    {"audit"},
    {"referrals", "apikeys"},
    {"otp"},
    {"api", "web"},
    {"ops"},
]


def _layer(app: str) -> int:
    return next(index for index, apps in enumerate(LAYERS) if app in apps)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for path in sorted((ROOT / "vouch").rglob("*.py"))
        if "migrations" not in path.parts
    }


def _imports(path: Path, modules: dict[str, Path]) -> Iterator[tuple[str, int]]:
    """The project modules `path` imports, each with the line that does."""
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path.parent)
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            # `from package import module` imports the module; `from module import name`, it.
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names
            ]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                yield name, node.lineno


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {
        module: {target for target, _ in _imports(path, modules) if target != module}
        for module, path in modules.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in graph.get(module, ()):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_itself_back():
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_app_has_its_layer():
    apps = {path.parent.name for path in (ROOT / "vouch").glob("*/apps.py")}
    assert apps == set().union(*LAYERS)


def test_no_app_imports_an_app_above_it():
    modules = _modules()
    upward = []
    for module, path in modules.items():
        if module == "vouch":
            continue
        app = module.split(".")[1]
        for target, line in _imports(path, modules):
            other = target.split(".")[1] if target != "vouch" else app
            if other == app:
                continue
            if _layer(other) >= _layer(app):
                upward.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert upward == []


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        # Backends share only the leaf `updates` with the outbox that drives them.
        ("vouch.delivery.backends", "vouch.delivery.services"),
        ("vouch.delivery.message", "vouch.delivery.backends"),
        ("vouch.accounts.models", "vouch.accounts.services"),
        ("vouch.core.outages", "vouch.api"),
        ("vouch.core.outages", "vouch.web"),
    ],
)
def test_a_lower_module_does_not_reach_a_higher_one(module, forbidden):
    graph = _graph()
    seen: set[str] = set()
    todo = [name for name in graph if name == module or name.startswith(f"{module}.")]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo.extend(graph[current])
    assert not {name for name in seen if name == forbidden or name.startswith(f"{forbidden}.")}
