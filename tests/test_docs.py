"""The CLI reference names every command the parser has, and the docs give commands only flags they have,
so the docs cannot silently fall behind."""

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


def test_every_flag_the_docs_give_a_command_exists():
    """``bayes-moe CMD ... --flag`` in the docs, the README and the experiments' READMEs: the command has it."""
    parser = _parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    common = {o for a in parser._actions for o in a.option_strings}
    root = DOCS.parent
    pages = [*DOCS.glob("*.md"), root / "README.md", *(root / "experiments").rglob("README.md")]
    unknown = []
    for page in pages:
        for n, line in enumerate(page.read_text().splitlines(), 1):
            for match in re.finditer(r"bayes-moe\s+(?:--\S+\s+\S+\s+)*([a-z][a-z-]+)([^`|\n&;]*)", line):
                command, rest = match.groups()
                if command not in commands:
                    continue
                known = common | {o for a in commands[command]._actions for o in a.option_strings}
                unknown += [f"{page.relative_to(root)}:{n}: bayes-moe {command} {flag}"
                            for flag in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", rest) if flag not in known]
    assert not unknown, "\n".join(unknown)
