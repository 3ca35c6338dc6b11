"""The extension's package imports only downward through its layers (gdb/ptmalloc/*/__init__.py
say what each holds): commands → render → check → predict → model → target → memory → the
base modules at the top of the package.  A module may import from its own layer or a lower one;
an upward import (memory reading the model, the model calling the audit) fails here, with the
line that makes it.  Parsed with `ast`, so no gdb is needed."""

import ast
import os

from conftest import REPO

PACKAGE = os.path.join(REPO, "gdb", "ptmalloc")
LAYERS = ["memory", "target", "model", "predict", "check", "render", "commands"]
SIZE_LIMIT_LINES = 400
CLASS_LIMIT_LINES = 200


def _modules():
    for folder, _dirs, files in os.walk(PACKAGE):
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                yield path, os.path.relpath(path, PACKAGE)[:-3].split(os.sep)


def _layer(parts):
    """A module's layer number: 0 for the base modules (errors, constants, paths)."""
    return LAYERS.index(parts[0]) + 1 if parts and parts[0] in LAYERS else 0


def _imported(parts, is_package, node):
    """The package-relative module paths an ImportFrom node names (relative imports only)."""
    if node.level == 0:
        return []
    base = parts if is_package else parts[:-1]
    base = base[:len(base) - (node.level - 1)]
    target = base + (node.module.split(".") if node.module else [])
    if node.module:
        return [target]
    return [target + [alias.name] for alias in node.names]


def _upward_imports():
    wrong = []
    for path, parts in _modules():
        is_package = parts[-1] == "__init__"
        own = parts[:-1] if is_package else parts
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), path)
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            for target in _imported(own if is_package else parts, is_package, node):
                if _layer(target) > _layer(own):
                    wrong.append("%s:%d imports %s" % (os.path.relpath(path, REPO), node.lineno,
                                                      ".".join(target)))
    return wrong


def test_imports_only_go_down_the_layers():
    assert _upward_imports() == []


def test_every_module_belongs_to_a_layer():
    stray = [".".join(parts) for _path, parts in _modules()
             if len(parts) > 1 and parts[0] not in LAYERS]
    assert stray == []


def test_modules_and_classes_stay_small():
    too_big = []
    for path, _parts in _modules():
        with open(path, encoding="utf-8") as handle:
            source = handle.read()
        name = os.path.relpath(path, PACKAGE)
        lines = source.count("\n")
        if lines > SIZE_LIMIT_LINES:
            too_big.append("%s: %d lines" % (name, lines))
        for node in ast.walk(ast.parse(source, path)):
            if isinstance(node, ast.ClassDef):
                length = node.end_lineno - node.lineno + 1
                if length > CLASS_LIMIT_LINES:
                    too_big.append("%s: class %s, %d lines" % (name, node.name, length))
    assert too_big == []


def test_the_checker_sees_an_upward_import():
    """The rule itself: an import of the audit from the model is caught."""
    node = ast.parse("from ..check import audit").body[0]
    target = _imported(["model", "snapshot"], False, node)
    assert target == [["check"]]
    assert _layer(target[0]) > _layer(["model", "snapshot"])
