"""Publishing: pushes, the registry client, the release-tag guard."""
