"""The CLI's layout: each command lives in the module named after it, so its code is found without a search."""

import argparse
import importlib
import pkgutil

from bayes_moe import cli

FAMILIES = {"scalebench": {"pool-next", "benchmark-scalebench"}}  # ScaleBench's pair keeps its one module
HELPERS = {"__main__", "flags", "output"}  # modules that hold no command


def registered(module_name: str) -> set[str]:
    """The commands that ``bayes_moe.cli.<module_name>`` adds to the parser."""
    names = set()

    def command(name, handler, help, reports=False):
        names.add(name)
        return argparse.ArgumentParser(add_help=False)

    importlib.import_module(f"bayes_moe.cli.{module_name}").register(command)
    return names


def test_every_command_module_is_registered_and_every_other_module_is_a_helper():
    modules = {info.name for info in pkgutil.iter_modules(cli.__path__)}
    assert set(cli.COMMAND_MODULES) == modules - HELPERS


def test_each_module_holds_the_command_it_is_named_after():
    for module_name in cli.COMMAND_MODULES:
        expected = FAMILIES.get(module_name, {module_name.rstrip("_").replace("_", "-")})
        assert registered(module_name) == expected, module_name
