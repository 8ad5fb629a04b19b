"""Markdown read back as a viewer reads it: the tables of a text."""

from __future__ import annotations


def markdown_tables(text: str) -> list[list[list[str]]]:
    """Every table of the text: its rows of cells, the rule under the header left out."""
    found: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|") and line.endswith("|"):
            cells = [cell.strip() for cell in line.strip("|").split(" | ")]
            if not all(set(cell) <= set("-:") for cell in cells):
                current.append(cells)
        elif current:
            found.append(current)
            current = []
    return found
