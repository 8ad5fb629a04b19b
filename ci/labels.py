"""OCI image labels (pure, no engine)."""

from __future__ import annotations

from ci.versions import AntreaVersion


def oci_labels(title: str, source_url: str, version: AntreaVersion) -> dict[str, str]:
    """The org.opencontainers.image.* labels of an Antrea image."""
    labels = {
        "org.opencontainers.image.title": title,
        "org.opencontainers.image.source": source_url,
        "org.opencontainers.image.version": version.full,
        "org.opencontainers.image.vendor": "Antrea",
    }
    if version.git_sha:
        labels["org.opencontainers.image.revision"] = version.git_sha
    return labels
