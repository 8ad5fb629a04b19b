"""The portable Go cache: Go's module and build caches restored before a build or a test
run and saved after, through a registry or a directory (names and checks: ci/core/go_cache)."""
