"""No import circles in brushwork: the modules form a graph that runs one way (the standard library's
``ast`` reads every module's imports; nothing is imported).

Two graphs are checked: the imports made when a module is loaded (top level, outside ``if
TYPE_CHECKING:``), and those plus the imports inside functions, which brushwork uses to load heavy or
optional parts only when a command needs them. A lazy import that closes a circle still ties two
modules into one, so neither graph may have one.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "src" / "brushwork"
ROOT = "brushwork"


def module_name(path: Path) -> str:
    parts = [ROOT, *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, *, lazy: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements under ``tree``: at load time only, or (``lazy``) inside functions too."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node):
            yield from _imports(ast.Module(body=node.orelse, type_ignores=[]), lazy=lazy)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            if lazy:
                yield from _imports(node, lazy=lazy)
        else:  # class bodies, try/except, with, if: run at load time
            yield from _imports(node, lazy=lazy)


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """The brushwork modules an import statement loads."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        if node.level:  # relative: from the module's own package, up level - 1
            package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{node.module}" if node.module else package
        else:
            base = node.module or ""
        names = [
            f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names
        ]
    for name in names:
        while name and name not in MODULES:  # `import brushwork.x.y` names y; an attribute names its module
            name = name.rpartition(".")[0]
        if name.split(".")[0] == ROOT and name in MODULES:
            yield name


def graph(*, lazy: bool) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        edges[module] = {t for node in _imports(tree, lazy=lazy) for t in _targets(module, node)} - {module}
    return edges


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(edges.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_the_imports() -> None:
    """The reader itself: it finds top-level, relative, lazy and TYPE_CHECKING imports as they are."""
    loaded, everything = graph(lazy=False), graph(lazy=True)
    assert "brushwork.errors" in loaded["brushwork.config"]
    assert "brushwork.finishing.after" not in loaded["brushwork.config"]  # under TYPE_CHECKING and lazy
    assert "brushwork.finishing.after" in everything["brushwork.config"]
    assert "brushwork.api" in loaded["brushwork"]
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("lazy", [False, True], ids=["at-load", "with-lazy-imports"])
def test_no_import_circles(lazy: bool) -> None:
    found = circles(graph(lazy=lazy))
    assert not found, "import circles: " + "; ".join(" <-> ".join(c) for c in found)
