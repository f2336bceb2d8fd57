"""The CLI reference names every command the parser has, so the docs cannot silently fall behind."""

import re
from pathlib import Path

from bayes_moe.cli import _parser

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_command_is_documented():
    subparsers = next(a for a in _parser()._actions if a.dest == "command")
    documented = set(re.findall(r"^## `bayes-moe ([a-z-]+)", (DOCS / "cli.md").read_text(), re.MULTILINE))
    assert documented == set(subparsers.choices)


def test_docs_link_to_existing_pages():
    for page in DOCS.glob("*.md"):
        for target in re.findall(r"\]\(([^)#]+\.md)\)", page.read_text()):
            assert (page.parent / target).is_file(), f"{page.name} links to missing {target}"
