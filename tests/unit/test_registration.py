"""The module registers with the Dagger Python SDK as `dagger call` sees it, no engine."""

from __future__ import annotations

import typing

import dagger
import pytest
from dagger.mod import _default_mod as module
from dagger.mod._converter import to_typedef

import ci.images.builder
import ci.main
import ci.testing.checks
import ci.testing.unit_tests

FUNCTIONS = {
    "binaries": dagger.Directory,
    "ovs": dagger.Container,
    "base": dagger.Container,
    "agent": dagger.Container,
    "controller": dagger.Container,
    "flow_aggregator": dagger.Container,
    "build": ci.images.builder.Images,
    "test": ci.testing.unit_tests.UnitTests,
    "test_report": ci.testing.unit_tests.UnitTests,
    "unit_tests": ci.testing.checks.UnitTestChecks,
    "repository": type(None),
    "with_registry_auth": ci.main.Antrea,
    "publish": list[str],
    "publish_arch": list[str],
    "merge": list[str],
    "publish_base": list[str],
}
SIDE_EFFECTS = ("publish", "publish_arch", "merge", "publish_base")


def test_objects_are_the_main_object_and_its_result_types() -> None:
    assert set(module._objects) == {
        "Antrea",
        "Images",
        "UnitTests",
        "UnitTestChecks",
        "RegistryAuth",
    }
    assert module._objects["Antrea"].cls is ci.main.Antrea


def test_functions_and_return_types() -> None:
    # The SDK files the constructor under "" once asked for it (get_constructor).
    functions = {name: f for name, f in module._objects["Antrea"].functions.items() if name}
    assert {name: function.return_type for name, function in functions.items()} == FUNCTIONS


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_argument_is_documented_and_typed(name: str) -> None:
    function = module._objects["Antrea"].functions[name]
    assert function.doc
    for parameter in function.parameters.values():
        assert parameter.doc, f"{name}({parameter.name}) has no Doc"
        to_typedef(parameter.resolved_type, f"{name}.{parameter.name}")
    to_typedef(function.return_type, f"{name} return")


def test_pushes_are_never_served_from_the_function_cache() -> None:
    functions = module._objects["Antrea"].functions
    for name in SIDE_EFFECTS:
        assert functions[name].cache_policy == "never", name
    assert functions["build"].cache_policy is None


def test_constructor_takes_the_source_and_base_images_with_defaults() -> None:
    constructor = module._objects["Antrea"].get_constructor(module._converter)
    parameters = constructor.parameters
    assert list(parameters) == [
        "source",
        "distro_image",
        "go_image",
        "ovs_tarball",
        "allow_ovs_version_mismatch",
        "base_registry",
        "iptables_wrapper_source",
        "cache_from",
        "cache_to",
        "cache_from_dir",
        "local_registries",
    ]
    assert all(parameter.doc for parameter in parameters.values())
    assert parameters["source"].is_nullable and parameters["ovs_tarball"].is_nullable
    assert parameters["distro_image"].default_value == '"ubuntu:24.04"'
    # Empty: golang:<the Go version the tree declares>.
    assert parameters["go_image"].default_value == '""'
    assert parameters["allow_ovs_version_mismatch"].default_value == "false"


def test_images_fields_are_the_containers_and_how_they_were_made() -> None:
    fields = module._objects["Images"].fields
    assert list(fields) == [
        "platform",
        "version",
        "ovs",
        "base",
        "agent",
        "controller",
        "flow_aggregator",
        "emulated",
        "bases_from",
        "made_on",
        "versions",
    ]
    hints = typing.get_type_hints(ci.images.builder.Images)
    for name in ("ovs", "base", "agent", "controller", "flow_aggregator"):
        assert hints[name] is dagger.Container
        to_typedef(hints[name], name)
    assert hints["emulated"] is bool and hints["bases_from"] is str
    assert hints["versions"] == hints["made_on"] == list[str]


def test_unit_test_results_are_typed_fields() -> None:
    fields = module._objects["UnitTests"].fields
    assert {"passed", "failed", "skipped", "failed_tests", "junit", "coverage"} <= set(fields)
    hints = typing.get_type_hints(ci.testing.unit_tests.UnitTests)
    for name in fields:
        to_typedef(hints[name], name)


def test_entry_point_names_the_main_object() -> None:
    from importlib.metadata import entry_points

    (entry,) = entry_points(group="dagger.mod", name="main_object")
    assert entry.value == "ci.main:Antrea"
