"""The command line's options, written from ci/core/inputs.py, and their parsing.

Build inputs are the same on every command that builds (`@build_inputs`), as the module's
constructor takes them; everything is parsed and checked here, before an engine is
reached, and reaches the package's classes as values (Platform, Repository, ...).
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from dagger import dag

from ci.core.go_cache import CacheStoreError, parse_store
from ci.core.inputs import BUILD_INPUTS, Input, Kind
from ci.core.platforms import Platform, PlatformError, parse_platform
from ci.core.references import ImageReferenceError, check_tag, parse_repository
from ci.images.inputs import BuildInputs
from ci.images.source import UPLOAD_EXCLUDES, without_unread

Command = TypeVar("Command", bound=Callable[..., Any])


def option(spec: Input[Any], **extra: Any) -> Any:
    """A typer option for the input: its flag (a boolean's --NAME/--no-NAME are typer's
    own), help and environment variable."""
    names = [] if spec.kind == Kind.FLAG else [spec.option, *([spec.short] if spec.short else [])]
    return typer.Option(*names, help=spec.help, envvar=spec.env or None, **extra)


# The type of each kind of build input on the command line: paths where the module takes
# Dagger's directories and files.
_PATH_CHECKS: dict[Kind, dict[str, Any]] = {
    Kind.DIRECTORY: {"exists": True, "file_okay": False, "resolve_path": True},
    Kind.FILE: {"exists": True, "dir_okay": False, "resolve_path": True},
}
_TYPES: dict[Kind, Any] = {
    Kind.DIRECTORY: Path | None,
    Kind.FILE: Path | None,
    Kind.TEXT: str,
    Kind.FLAG: bool,
    Kind.STORE: str,
}


def checked_store(value: str) -> str:
    """A Go cache store, refused as a usage error when it is neither a directory nor a
    registry repository."""
    try:
        if value:
            parse_store(value)
    except CacheStoreError as error:
        raise typer.BadParameter(str(error)) from None
    return value


_CHECKS: dict[Kind, dict[str, Any]] = {**_PATH_CHECKS, Kind.STORE: {"callback": checked_store}}


def _parameter(spec: Input[Any]) -> inspect.Parameter:
    typer_option = option(spec, **_CHECKS.get(spec.kind, {}))
    annotation = Annotated[_TYPES[spec.kind], typer_option]  # type: ignore[valid-type,name-defined]
    return inspect.Parameter(
        spec.name, inspect.Parameter.KEYWORD_ONLY, default=spec.default, annotation=annotation
    )


def build_inputs(*specs: Input[Any]) -> Callable[[Command], Command]:
    """Give a command the options of these build inputs (all of them when none is named);
    it gets their values as one `inputs` argument: a mapping of name to value."""
    chosen = specs or BUILD_INPUTS

    def decorate(command: Command) -> Command:
        signature = inspect.signature(command, eval_str=True)
        own = [p for p in signature.parameters.values() if p.name != "inputs"]

        @functools.wraps(command)
        def with_inputs(**values: Any) -> Any:
            inputs = {spec.name: values.pop(spec.name) for spec in chosen}
            return command(inputs=inputs, **values)

        parameters = [*own, *(_parameter(spec) for spec in chosen)]
        with_inputs.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        return with_inputs  # type: ignore[return-value]

    return decorate


def to_build_inputs(values: dict[str, Any]) -> BuildInputs:
    """The command line's build inputs as the builder takes them (once connected): paths
    of this machine uploaded, the source without what no stage reads."""
    host = dag.host()
    converted: dict[str, Any] = {}
    for spec in BUILD_INPUTS:
        value = values.get(spec.name, spec.default)
        if spec.kind == Kind.DIRECTORY and value is not None:
            if spec.name == "source":
                # Keyed by content as the module keys it: both fronts share the cache.
                value = without_unread(host.directory(str(value), exclude=UPLOAD_EXCLUDES))
            else:
                value = host.directory(str(value))
        elif spec.kind == Kind.FILE and value is not None:
            value = host.file(str(value))
        elif spec.kind == Kind.STORE:
            value = parse_store(value) if value else None
        converted[spec.name] = value
    return BuildInputs(**converted)


def input_arguments(values: dict[str, Any]) -> list[str]:
    """The options that give a command these build inputs again (the processes of a
    routed run): every value that is not its default, paths as this machine's."""
    arguments: list[str] = []
    for spec in BUILD_INPUTS:
        value = values.get(spec.name, spec.default)
        if value == spec.default:
            continue
        if spec.kind == Kind.FLAG:
            arguments.append(spec.option if value else "--no-" + spec.option.removeprefix("--"))
        else:
            arguments += [spec.option, str(value)]
    return arguments


def platform_value(text: str) -> Platform | None:
    """A platform, refused as a usage error before anything connects; None when empty."""
    try:
        return parse_platform(text) if text else None
    except PlatformError as error:
        raise typer.BadParameter(str(error), param_hint="--platform") from None


def platform_values(texts: list[str] | None) -> list[Platform] | None:
    """Platforms (None when none is given), refused as a usage error when one is unknown."""
    return [p for p in map(platform_value, texts) if p] if texts else None


def checked_namespaces(values: list[str]) -> list[str]:
    """The namespaces, refused before anything connects or builds when one is invalid."""
    try:
        for value in values:
            parse_repository(value)
    except ImageReferenceError as error:
        raise typer.BadParameter(str(error)) from None
    return values


def checked_namespace(value: str) -> str:
    return checked_namespaces([value])[0]


def checked_tag(value: str) -> str:
    try:
        return check_tag(value)
    except ImageReferenceError as error:
        raise typer.BadParameter(str(error)) from None


def parse_auth(text: str) -> tuple[str, str, str, str]:
    """Split REGISTRY=USER:env:VAR or REGISTRY=USER:file:PATH (pure)."""
    registry, _, rest = text.partition("=")
    user, _, source = rest.partition(":")
    kind, _, where = source.partition(":")
    if not registry or not user or kind not in ("env", "file") or not where:
        raise typer.BadParameter(
            f"{text!r}: expected REGISTRY=USER:env:VARIABLE or REGISTRY=USER:file:PATH",
            param_hint="--auth",
        )
    return registry, user, kind, where


def read_password(kind: str, where: str) -> str:
    """The password an --auth names: an environment variable's value or a file's text."""
    if kind == "env":
        if where not in os.environ:
            raise typer.BadParameter(
                f"environment variable {where} is not set", param_hint="--auth"
            )
        return os.environ[where]
    try:
        return Path(where).read_text().strip()
    except OSError as error:
        raise typer.BadParameter(
            f"cannot read {where}: {error.strerror}", param_hint="--auth"
        ) from None


SummaryOption = Annotated[
    Path | None,
    typer.Option(
        envvar="GITHUB_STEP_SUMMARY",
        help="Add a Markdown summary of the run to this file (default: GitHub's job "
        "summary, $GITHUB_STEP_SUMMARY, when set).",
    ),
]
TimingsOption = Annotated[
    Path | None,
    typer.Option(
        help="Write each stage's duration here as JSON "
        "(default: timings/COMMAND-TIME.json), for `antrea-ci baseline compare`."
    ),
]
AuthOption = Annotated[
    list[str] | None,
    typer.Option(
        "--auth",
        help="REGISTRY=USER:env:VARIABLE or REGISTRY=USER:file:PATH; the password is read "
        "from there and handed to the engine as a secret. Repeat per registry.",
    ),
]
