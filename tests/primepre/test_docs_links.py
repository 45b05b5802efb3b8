"""The documents' links lead somewhere: relative links name files of the repository (and their
anchors headings there), and every "SPA-CONTRACT.md 4.9" the code cites is a section of
docs/SPA-CONTRACT.md."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [
    ROOT / "README.md",
    ROOT / "bench" / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
]
LINK = re.compile(r"\]\(([^)\s]+)\)")
CITATION = re.compile(r"SPA-CONTRACT\.md (?:sections? )?([\d.]+(?:[-, and]+[\d.]+)*)")


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation but hyphens dropped, spaces hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(document: Path) -> set[str]:
    lines = document.read_text().splitlines()
    return {anchor(line.lstrip("#")) for line in lines if re.match(r"#{1,6} ", line)}


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_names_a_file_and_heading_that_exist(document):
    for target in LINK.findall(document.read_text()):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, fragment = target.partition("#")
        linked = (document.parent / path).resolve() if path else document
        assert linked.exists(), f"{document.name}: {target}"
        if fragment and linked.suffix == ".md":
            assert fragment in anchors(linked), f"{document.name}: {target}"


def test_every_section_of_the_spa_contract_the_code_cites_exists():
    contract = (ROOT / "docs" / "SPA-CONTRACT.md").read_text()
    numbers = re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", contract, flags=re.MULTILINE)
    sections = set(numbers)
    cited = set()
    for source in [
        *ROOT.glob("users/**/*.py"),
        *ROOT.glob("tests/**/*.py"),
        *ROOT.glob("docs/*.md"),
    ]:
        for group in CITATION.findall(source.read_text()):
            cited.update(re.findall(r"\d+(?:\.\d+)?", group))
    assert cited
    assert cited <= sections, cited - sections
