"""The core never imports Qt; the PySide6 pin keeps the None refcount crash away."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "inpaint_studio"
FORBIDDEN = ("PySide6", "shiboken6", "qasync")


@pytest.mark.parametrize("sub", ["core", "providers"])
def test_core_sources_do_not_import_qt(sub):
    offenders = []
    for path in (PKG / sub).rglob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif (
                isinstance(node, ast.ImportFrom)
                and node.level > 0
                and node.module
                and node.module.startswith("ui")
            ):
                names = ["inpaint_studio.ui"]
            for n in names:
                if n.split(".")[0] in FORBIDDEN or n.startswith("inpaint_studio.ui"):
                    offenders.append(f"{path.name}: {n}")
    assert offenders == []


def test_importing_core_and_providers_loads_no_qt():
    code = (
        "import sys, pkgutil, importlib, inpaint_studio.core, inpaint_studio.providers\n"
        "for pkg in (inpaint_studio.core, inpaint_studio.providers):\n"
        "    for m in pkgutil.iter_modules(pkg.__path__):\n"
        "        importlib.import_module(pkg.__name__ + '.' + m.name)\n"
        "import inpaint_studio.cli\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'qasync')]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_pyside6_does_not_over_release_none():
    """shared/tools/check_none_refcount.py: PySide6 6.12.0 on Python < 3.12 aborts."""
    code = (
        "import os, sys\n"
        "os.environ.setdefault('QT_QPA_PLATFORM', 'offscreen')\n"
        "from PySide6.QtWidgets import QApplication, QLabel\n"
        "app = QApplication([])\n"
        "label = QLabel()\n"
        "before = sys.getrefcount(None)\n"
        "for i in range(1000):\n"
        "    label.setText(str(i))\n"
        "lost = before - sys.getrefcount(None)\n"
        "print(lost, flush=True)\n"
        "os._exit(1 if lost > 100 and sys.version_info < (3, 12) else 0)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, f"None lost {res.stdout.strip()} references: PySide6 pin is broken"


def _imports(path: Path) -> list[str]:
    """Every module ``path`` imports (relative imports resolved), anywhere in the file."""
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    package = parts[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                mod = ".".join(base + ((node.module,) if node.module else ()))
            else:
                mod = node.module or ""
            out.append(mod)
            out += [f"{mod}.{a.name}" for a in node.names]
    return out


@pytest.mark.parametrize(
    ("sub", "forbidden"),
    [
        ("core", ("inpaint_studio.providers", "inpaint_studio.ui", "inpaint_studio.cli")),
        ("providers", ("inpaint_studio.ui", "inpaint_studio.cli")),
    ],
)
def test_the_layers_import_only_downwards(sub, forbidden):
    """Issue 18: core never imports providers, ui or cli (the provider registry is injected:
    ``EditSession(providers=make_provider)``); providers never import ui or cli."""
    offenders = [
        f"{path.relative_to(PKG)}: {name}"
        for path in (PKG / sub).rglob("*.py")
        for name in _imports(path)
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    ]
    assert offenders == []


def _runtime_graph() -> dict[str, set[str]]:
    """Module → the package's modules it imports at run time (``if TYPE_CHECKING:`` blocks
    left out; ``from . import x`` is an import of the module ``x``)."""
    mods: dict[str, Path] = {}
    for path in PKG.rglob("*.py"):
        parts = path.relative_to(PKG.parent).with_suffix("").parts
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        tree = ast.parse(path.read_text("utf-8"))
        typing_only = {
            id(sub)
            for node in ast.walk(tree)
            if isinstance(node, ast.If)
            and isinstance(node.test, ast.Name)
            and node.test.id == "TYPE_CHECKING"
            for sub in ast.walk(node)
        }
        deps: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else []
                mod = ".".join([*base, *([node.module] if node.module else [])])
                for alias in node.names:
                    deps.add(f"{mod}.{alias.name}" if f"{mod}.{alias.name}" in mods else mod)
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names}
        graph[name] = {d for d in deps if d in mods and d != name}
    return graph


def test_no_import_cycles():
    """Issue 18: no two modules import each other, directly or round a loop (params ↔ request
    and persist ↔ session were such loops)."""
    graph = _runtime_graph()
    cycles = []

    def reach(start: str) -> set[str]:
        seen: set[str] = set()
        todo = list(graph[start])
        while todo:
            m = todo.pop()
            if m not in seen:
                seen.add(m)
                todo += graph[m]
        return seen

    for m in graph:
        if m in reach(m):
            cycles.append(m)
    assert cycles == []


#: the core's layers, bottom to top: a module imports only from its own layer or below
CORE_LAYERS = ("", "pixels", "pipeline", "formats", "document")


def test_the_core_subpackages_import_only_downwards_and_say_what_they_are():
    """Issue 18: ``core/`` shows its architecture — root services, pixels, the pipeline, file
    formats, the document — each subpackage with a one-line docstring, importing (at run
    time) only its own layer and those below."""
    core = PKG / "core"
    for sub in CORE_LAYERS[1:]:
        doc = ast.get_docstring(ast.parse((core / sub / "__init__.py").read_text("utf-8")))
        assert doc and "\n" not in doc.strip(), sub
    assert not [
        p for p in core.iterdir() if p.is_dir() and p.name not in CORE_LAYERS + ("__pycache__",)
    ]

    def layer(module: str) -> int:
        parts = module.split(".")
        return CORE_LAYERS.index(parts[2]) if len(parts) > 3 and parts[2] in CORE_LAYERS else 0

    upward = [
        f"{m} → {d}"
        for m, deps in _runtime_graph().items()
        if m.startswith("inpaint_studio.core.")
        for d in deps
        if d.startswith("inpaint_studio.core.") and layer(d) > layer(m)
    ]
    assert upward == []


def test_modules_stay_small_enough_to_read():
    """Issue 18: no module in ``ui/`` over 500 lines, none in the package over 600."""
    too_long = {
        str(path.relative_to(PKG)): n
        for path in PKG.rglob("*.py")
        if (n := len(path.read_text("utf-8").splitlines()))
        > (500 if path.relative_to(PKG).parts[0] == "ui" else 600)
    }
    assert too_long == {}
