"""The two fronts take the same inputs: the module's arguments and the command line's
options have the same names, defaults and help (ci/core/inputs.py), no engine.

An option added to one front only fails here; each difference the fronts keep on purpose
is listed below with its reason.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import typer.core
import typer.main
from dagger.mod import _default_mod as module

import ci.main  # noqa: F401  (registers the module's objects)
from ci.cli import app
from ci.core.inputs import BUILD_INPUTS, TEST_INPUTS

# Module function -> the command that does the same on the command line.
PAIRS = {
    "build": "build",
    "test": "test",
    "publish": "publish",
    "publish_arch": "publish-arch",
    "merge": "merge",
    "publish_base": "publish-base",
}
# Options only the command line has, and why.
TIMINGS = "the command line writes stage timings for `baseline compare`"
SUMMARY = "the command line writes the job summary; the module returns Markdown fields"
AUTH = "the module takes credentials through with-registry-auth, chained before the call"
ROUTING = {
    "engine": "a module function runs inside one engine; routing platforms to engines takes "
    "a process per engine, which only the command line starts",
    "emulated_engines": "goes with --engine",
}
CLI_ONLY: dict[str, dict[str, str]] = {
    "build": {
        "platforms": "the command line builds several platforms at once; the module's build "
        "returns one platform's images (`build --platform P`)",
        "output": "the module returns the images; `export` writes them",
        "load": "loads into this machine's Docker daemon, which a module cannot reach",
        "timings": TIMINGS,
        "summary": SUMMARY,
        **ROUTING,
    },
    "test": {
        "junit": "the module returns the report as a field (`junit export`)",
        "timings": TIMINGS,
        "summary": SUMMARY,
        **ROUTING,
    },
    "publish": {"auth": AUTH, "timings": TIMINGS, "summary": SUMMARY, **ROUTING},
    "publish-arch": {
        "auth": AUTH,
        "timings": TIMINGS,
        "summary": SUMMARY,
        "hold": "the handshake of a routed publish with each of its processes (hidden)",
    },
    "merge": {"auth": AUTH, "timings": TIMINGS, "summary": SUMMARY},
    "publish-base": {"auth": AUTH, "timings": TIMINGS, "summary": SUMMARY},
}
MODULE_ONLY: dict[str, dict[str, str]] = {
    "build": {"platform": "see CLI_ONLY: the command line's build takes several platforms"},
}
# Inputs both fronts have whose value differs in kind, and why.
DIFFERENT_KINDS = {
    ("test", "coverage"): "the module returns the profile as a field; the command line "
    "writes it to the file given",
}
# Constructor arguments the command line does not take, and why.
MODULE_ONLY_INPUTS = {
    "local_registries": "under `dagger call` functions run in a container, whose loopback "
    "is not the machine's; the command line's code runs on the machine",
    "cache_from_dir": "a directory store handed over as a directory: a function cannot read "
    "this machine's paths (the command line takes the path in --cache-from)",
}


def cli_commands() -> dict[str, Any]:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    return dict(group.commands)


def cli_options(command: str) -> dict[str, Any]:
    return {param.name or "": param for param in cli_commands()[command].params}


def module_arguments(function: str) -> dict[str, Any]:
    return dict(module._objects["Antrea"].functions[function].parameters)


def constructor_arguments() -> dict[str, Any]:
    constructor = module._objects["Antrea"].get_constructor(module._converter)
    return dict(constructor.parameters)


def module_default(parameter: Any) -> object:
    """A module argument's default as a value (the SDK keeps it JSON-encoded)."""
    encoded = parameter.default_value
    return None if encoded is None else json.loads(encoded)


def cli_default(param: Any) -> object:
    return None if param.required else param.default


def same_input(where: str, name: str, argument: Any, option: Any) -> None:
    assert isinstance(option, typer.core.TyperOption)
    assert argument.doc == option.help, f"{where} {name}: help differs"
    assert module_default(argument) == cli_default(option), f"{where} {name}: default differs"


def build_input_names(command: str) -> set[str]:
    """The build inputs a command takes (from @build_inputs)."""
    inputs = TEST_INPUTS if command == "test" else BUILD_INPUTS
    return {spec.name for spec in inputs} if command != "merge" else set()


@pytest.mark.parametrize("function", PAIRS)
def test_each_command_takes_what_its_module_function_takes(function: str) -> None:
    command = PAIRS[function]
    arguments = module_arguments(function)
    options = cli_options(command)
    own = set(options) - build_input_names(command)
    assert set(arguments) - set(MODULE_ONLY.get(command, {})) == own - set(
        CLI_ONLY.get(command, {})
    )
    for name in set(arguments) & own:
        if (command, name) not in DIFFERENT_KINDS:
            same_input(command, name, arguments[name], options[name])


@pytest.mark.parametrize("command", PAIRS.values())
def test_commands_that_build_take_the_constructors_inputs(command: str) -> None:
    constructor = constructor_arguments()
    options = cli_options(command)
    names = build_input_names(command)
    assert names <= set(options)
    for name in names:
        same_input(command, name, constructor[name], options[name])
    assert set(constructor) - {spec.name for spec in BUILD_INPUTS} == set(MODULE_ONLY_INPUTS)


def test_the_builders_inputs_are_the_build_inputs() -> None:
    from dataclasses import fields

    from ci.images.inputs import BuildInputs

    names = [field.name for field in fields(BuildInputs)]
    assert names == [
        *(spec.name for spec in BUILD_INPUTS),
        "cache_from_dir",
        "credentials",
        "local_registries",
    ]


def test_commands_without_a_module_function_are_the_machines_own() -> None:
    """doctor checks this machine, matrix prints CI's matrix, baseline compares files."""
    assert set(cli_commands()) - set(PAIRS.values()) == {
        "doctor",
        "matrix",
        "baseline",
    }
