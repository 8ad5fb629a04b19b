"""Pure logic: platforms, versions, references, timings, plans; never touches the engine."""
