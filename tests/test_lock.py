"""requirements/lock.txt pins every dependency pyproject.toml names (torch aside: the Makefile's TORCH
picks it), at a version inside pyproject's range, so `make setup` installs nothing unpinned."""

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE_THE_LOCK = {"torch"}


def pinned() -> dict:
    pins = {}
    for line in (ROOT / "requirements" / "lock.txt").read_text().splitlines():
        if line and not line.startswith((" ", "#")):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    return pins


def test_lock_pins_every_dependency_inside_its_range():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [Requirement(text) for text in project["dependencies"] + project["optional-dependencies"]["dev"]]
    pins = pinned()
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        if name in OUTSIDE_THE_LOCK:
            assert name not in pins, f"{name} is chosen by the Makefile's TORCH, not the lock"
            continue
        assert name in pins, f"{name} is not in requirements/lock.txt: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (name, pins[name], str(requirement))
