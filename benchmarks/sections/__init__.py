"""One module per benchmark section; each `measure` adds its figures to the bench."""
