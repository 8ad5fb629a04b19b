"""Target platforms: parsing, normalisation and what each one implies (pure, no engine)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache

from ci.core.assets import BUILD_DIR


class PlatformError(ValueError):
    """A platform string that is malformed or not configured."""


@dataclass(frozen=True)
class Architecture:
    """Facts about one CPU architecture, as the tools that build for it name them."""

    goarch: str
    goarm: str = ""
    debian: str = ""
    uname: str = ""
    qemu: str = ""  # QEMU's name: its emulator and binfmt handler are qemu-<qemu>
    race: bool = False
    tag_suffix: str = ""


# Keyed by "arch" or "arch/variant" as OCI platforms spell them.
ARCHITECTURES: dict[str, Architecture] = {
    "amd64": Architecture(
        "amd64", debian="amd64", uname="x86_64", qemu="x86_64", race=True, tag_suffix="amd64"
    ),
    "arm64": Architecture(
        "arm64", debian="arm64", uname="aarch64", qemu="aarch64", race=True, tag_suffix="arm64"
    ),
    "arm/v7": Architecture(
        "arm", goarm="7", debian="armhf", uname="armv7l", qemu="arm", tag_suffix="arm"
    ),
    "riscv64": Architecture(
        "riscv64", debian="riscv64", uname="riscv64", qemu="riscv64", tag_suffix="riscv64"
    ),
}

# Spellings that mean the same platform.
_ALIASES = {"arm64/v8": "arm64", "arm": "arm/v7", "x86_64": "amd64", "aarch64": "arm64"}


@dataclass(frozen=True, order=True)
class Platform:
    """A normalised linux target platform, e.g. linux/arm/v7."""

    os: str
    arch: str
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(part for part in (self.os, self.arch, self.variant) if part)

    @property
    def key(self) -> str:
        return f"{self.arch}/{self.variant}" if self.variant else self.arch

    @property
    def facts(self) -> Architecture:
        return ARCHITECTURES[self.key]

    @property
    def go_env(self) -> dict[str, str]:
        """GOOS/GOARCH (and GOARM, numeric) for cross-compiling to this platform."""
        env = {"GOOS": self.os, "GOARCH": self.facts.goarch}
        if self.facts.goarm:
            env["GOARM"] = self.facts.goarm
        return env

    @property
    def slug(self) -> str:
        """A name safe for cache volume keys and file names: linux-arm-v7."""
        return str(self).replace("/", "-")


def parse_platform(text: str) -> Platform:
    """Parse and normalise a platform string, refusing what antrea-ci does not know."""
    cleaned = text.strip().lower()
    parts = cleaned.split("/")
    if len(parts) == 1 or (len(parts) == 2 and parts[0] != "linux"):
        parts = ["linux", *parts]
    if parts[0] != "linux" or not 2 <= len(parts) <= 3 or not all(parts):
        raise PlatformError(
            f"invalid platform {text!r}: expected linux/ARCH[/VARIANT], "
            f"one of {', '.join(known_platform_names())}"
        )
    key = _ALIASES.get("/".join(parts[1:]), "/".join(parts[1:]))
    if key not in ARCHITECTURES:
        raise PlatformError(
            f"unsupported platform {text!r}: antrea-ci knows {', '.join(known_platform_names())}"
        )
    arch, _, variant = key.partition("/")
    return Platform("linux", arch, variant)


def parse_optional(text: str) -> Platform | None:
    """A platform, or None for an empty string (the engine's own, decided by whoever
    connects)."""
    return parse_platform(text) if text else None


def parse_platforms(texts: list[str] | None) -> list[Platform] | None:
    """Platforms, or None when none is given (those of build/platforms.toml)."""
    return [parse_platform(text) for text in texts] if texts else None


def runs_natively(target: Platform, engine: Platform) -> bool:
    """Whether the engine runs the target's binaries without emulation (arm/v7 on an Arm64
    engine runs as AArch32, as on GitHub's Arm64 runners)."""
    return target == engine or (engine.key == "arm64" and target.key == "arm/v7")


def binfmt_handlers(targets: list[Platform], host: Platform) -> list[str]:
    """The QEMU binfmt handlers (qemu-ARCH) a host needs to run the targets it cannot."""
    names = (f"qemu-{t.facts.qemu}" for t in targets if not runs_natively(t, host))
    return list(dict.fromkeys(names))


def known_platform_names() -> list[str]:
    return [f"linux/{key}" for key in ARCHITECTURES]


@dataclass(frozen=True)
class ConfiguredPlatform:
    """A platform listed in build/platforms.toml, with the CI runner native to it."""

    platform: Platform
    runner: str


def load_platforms(toml_text: str) -> tuple[ConfiguredPlatform, ...]:
    """Parse a platforms.toml document; every entry must be a platform antrea-ci knows."""
    entries = tomllib.loads(toml_text).get("platforms", [])
    configured = tuple(
        ConfiguredPlatform(parse_platform(entry["name"]), entry["runner"]) for entry in entries
    )
    if not configured:
        raise PlatformError("platforms.toml lists no platform")
    if len({entry.platform for entry in configured}) != len(configured):
        raise PlatformError("platforms.toml lists a platform twice")
    return configured


@cache
def configured_platforms() -> tuple[ConfiguredPlatform, ...]:
    """The platforms of build/platforms.toml, in order."""
    return load_platforms((BUILD_DIR / "platforms.toml").read_text())


def default_platforms() -> list[Platform]:
    return [entry.platform for entry in configured_platforms()]
