"""Markdown and Mermaid as a person sees them: drawn by Mermaid's command line and Debian's
Chromium (tests/engine/tools installs both), as PNG images."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import markdown as markdown_to_html
import pytest
from PIL import Image

MERMAID_BLOCK = re.compile(r"```mermaid\n(.*?)```", re.DOTALL)
PAGE_STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; font-size: 14px;
       color: #1f2328; margin: 24px; max-width: 1100px; }
h2 { border-bottom: 1px solid #d1d9e0; padding-bottom: 6px; }
table { border-collapse: collapse; margin: 12px 0; }
th, td { border: 1px solid #d1d9e0; padding: 4px 10px; }
th { background: #f6f8fa; }
code { background: #eff1f3; padding: 1px 4px; border-radius: 4px; font-size: 12px; }
pre { background: #f6f8fa; padding: 8px; }
"""


def _tool(name: str, variable: str = "") -> str:
    """A tool's path; the test fails, never skips, when it is missing."""
    path = os.environ.get(variable, "") if variable else ""
    path = path or shutil.which(name) or ""
    if not path:
        pytest.fail(f'{name} is not installed: run `eval "$(tests/engine/tools)"`', pytrace=False)
    return path


def mermaid_png(chart: str, out: Path, width: int = 900) -> Path:
    """Draw a Mermaid chart (the text of a ```mermaid block) into a PNG, in Chromium."""
    with tempfile.TemporaryDirectory(prefix="antrea-ci-mermaid-") as scratch:
        source, config = Path(scratch) / "chart.mmd", Path(scratch) / "puppeteer.json"
        source.write_text(chart)
        browser = {
            "executablePath": _tool("chromium", "ANTREA_CI_CHROMIUM"),
            "args": ["--no-sandbox"],
        }
        config.write_text(json.dumps(browser))
        command = [
            _tool("mmdc"),
            *["--input", str(source), "--output", str(out), "--puppeteerConfigFile", str(config)],
            *["--width", str(width), "--backgroundColor", "white", "--quiet"],
        ]
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=300)
    return out


def page_png(text: str, out: Path, width: int = 1200, height: int = 1600) -> Path:
    """Draw Markdown (GitHub's flavour: tables, code, Mermaid charts drawn as images) as a
    page in headless Chromium, into a PNG of the given size."""
    with tempfile.TemporaryDirectory(prefix="antrea-ci-page-") as scratch:
        work = Path(scratch)

        def chart(match: re.Match[str]) -> str:
            drawn = mermaid_png(match.group(1), work / f"chart-{match.start()}.png")
            data = base64.b64encode(drawn.read_bytes()).decode()
            return f'<img alt="chart" src="data:image/png;base64,{data}">'

        body = markdown_to_html.markdown(
            MERMAID_BLOCK.sub(chart, text), extensions=["tables", "fenced_code"]
        )
        page = work / "page.html"
        page.write_text(
            f"<!doctype html><html><head><meta charset='utf-8'><title>summary</title>"
            f"<style>{PAGE_STYLE}</style></head><body>{body}</body></html>"
        )
        command = [
            _tool("chromium", "ANTREA_CI_CHROMIUM"),
            *["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"],
            *[f"--window-size={width},{height}", f"--screenshot={out}", page.as_uri()],
        ]
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=300)
    return out


def inked_share(png: Path) -> float:
    """The share of a PNG's pixels that are not (nearly) white."""
    with Image.open(png) as image:
        grey = image.convert("L")
        histogram = grey.histogram()
    return 1 - sum(histogram[245:]) / sum(histogram)


def size(png: Path) -> tuple[int, int]:
    with Image.open(png) as image:
        return image.size
