"""The connection to the Dagger engine that the command line, doctor and tests open."""
