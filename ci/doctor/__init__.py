"""antrea-ci doctor: probes of what a run needs, and their verdicts."""
