"""The shape of the tree, checked: layers and no import cycles (import-linter's contracts in setup.cfg, and module-
level cycles here), short functions in the pipeline, short files, and a command table whose every entry loads."""
from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import click
import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "posetrack"
ROOT = PACKAGE.parent
MAX_LINES = 300
MAX_PIPELINE_PARAMETERS = 6


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def module_level_imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The posetrack modules ``name`` imports at module level (not inside functions or classes)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:  # a name imported from a module: the module
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def test_import_linter_contracts_are_kept():
    """``lint-imports`` with the contracts in setup.cfg (in its own process: import-linter configures logging with
    ``disable_existing_loggers``, which would silence posetrack's loggers for the tests that follow)."""
    pytest.importorskip("importlinter", reason="import-linter is installed with the test extras")
    done = subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
                           "sys.exit(lint_imports_command())", "--no-cache"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "Contracts: 2 kept, 0 broken." in done.stdout


def test_no_module_level_import_cycle():
    found = modules()
    graph = {name: module_level_imports(name, path, set(found)) for name, path in found.items()}
    # A package's __init__ importing its own modules is not a cycle; its modules importing the package is.
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if node.startswith(nxt + ".") or nxt.startswith(node + "."):
                continue  # parent package <-> its own module
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_pipeline_functions_take_at_most_six_parameters():
    wide = []
    for path in sorted((PACKAGE / "pipeline").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                a = node.args
                count = len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs) + bool(a.vararg) + bool(a.kwarg)
                if count > MAX_PIPELINE_PARAMETERS:
                    wide.append(f"{path.name}:{node.lineno} {node.name} ({count})")
    assert wide == []


def test_files_are_short_unless_their_docstring_says_why():
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        doc = ast.get_docstring(ast.parse(text)) or ""
        if len(text.splitlines()) > MAX_LINES and f"longer than {MAX_LINES} lines" not in doc:
            long.append(f"{path.relative_to(ROOT)} ({len(text.splitlines())} lines)")
    assert long == []


def test_every_command_loads_and_the_table_is_the_documented_one():
    from posetrack.cli import COMMANDS, cli

    assert sorted(COMMANDS) == ["batch", "demo", "edit", "eval", "eval-coco", "export", "report", "run", "synth",
                                "test", "track", "train", "train-detector", "weights"]
    for name, (target, summary) in COMMANDS.items():
        module, attribute = target.split(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command) and command.name == name, name
        assert summary and module.split(".")[1] in ("cli", "run", "demo")  # commands live in the command layer
    assert cli.get_command(None, "no-such-command") is None
