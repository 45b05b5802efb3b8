"""The imports package's layout: its modules import one another downwards only (no module
reaches, directly or through others, one that imports it), so each stage of an import can be
read, and changed, knowing only what lies beneath it."""

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import users.imports

PACKAGE = "users.imports"


def imports_between_modules() -> dict[str, set[str]]:
    """Module name -> the modules of the package it imports (at any depth of its code)."""
    folder = Path(users.imports.__file__).parent
    modules = {path.stem for path in folder.glob("*.py") if path.stem != "__init__"}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name in modules:
        tree = ast.parse((folder / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == PACKAGE:
                graph[name] |= {alias.name for alias in node.names if alias.name in modules}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE + "."):
                graph[name].add(node.module.split(".")[2])
            elif isinstance(node, ast.Import):
                graph[name] |= {
                    alias.name.split(".")[2]
                    for alias in node.names
                    if alias.name.startswith(PACKAGE + ".")
                }
    return graph


def test_the_modules_of_the_import_import_one_another_without_a_circle():
    # given every import between the package's modules
    graph = imports_between_modules()

    # when they are put in order, each after what it imports
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as error:
        order = []
        circle = error.args[1]
    else:
        circle = []

    # then there is such an order: no circle
    assert circle == []
    assert set(order) == set(graph)


def test_the_preview_s_stages_lie_beneath_its_entry_points():
    # given the modules an upload passes through, from the view to the stored preview
    graph = imports_between_modules()

    # then each stage reaches only the stages after it
    assert "preview" in graph["read"]
    assert "preview" in graph["remap"]
    assert {"parse", "classify", "store", "stored_rows"} <= graph["preview"]
    assert "spool" in graph["remap"]
    assert "clashes" in graph["classify"]
    for stage in ("parse", "classify", "clashes", "spool", "store", "stored_rows", "marks"):
        assert not graph[stage] & {"read", "remap", "preview", "run", "jobs", "apis"}


# The most lines a module of the package holds (the house's rule is about 500: room is kept).
MODULE_LINES = 450


def test_each_module_of_the_import_stays_a_size_a_reader_holds():
    # given every module of the package
    folder = Path(users.imports.__file__).parent

    # then none is longer than MODULE_LINES lines
    long = {
        path.stem: count
        for path in folder.glob("*.py")
        if (count := len(path.read_text().splitlines())) > MODULE_LINES
    }
    assert long == {}
