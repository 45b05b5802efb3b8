"""The project's errors live below every package: services raise them without reaching up into
the web layer, which only answers them."""

import ast
from pathlib import Path

import users.errors


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_errors_module_imports_nothing_of_the_project():
    # Given the module every package raises its errors from
    path = Path(users.errors.__file__)

    # When its imports are read
    imported = _imported_modules(path)

    # Then none of them is one of the project's own packages
    assert imported
    assert not {name for name in imported if name.split(".")[0] in {"users", "primepre"}}


def test_a_file_error_is_answered_as_any_application_error():
    # Given a file refused as too large
    error = users.errors.FileError(users.errors.FILE_TOO_LARGE, "Too large.", details={"max": 1})

    # Then it is an application error with the file's status and its details as the errors
    assert isinstance(error, users.errors.ApplicationError)
    assert (error.status_code, error.errors) == (413, {"max": 1})
