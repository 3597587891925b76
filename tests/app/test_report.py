"""The decision report: every section present, self-contained, and rendered by a real browser."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pandas as pd
import pytest

from planning.app.cli import main

FAST = ["--chains", "2", "--draws", "200", "--tune", "200", "--seed", "4", "--no-progress"]
SECTIONS = ("verdict", "plan", "regret", "bounds", "diagnostics", "data", "model-fit", "homophily")


class Page(HTMLParser):
    """Collects ids, image sources, links, scripts and the CSV download of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: dict[str, str] = {}
        self.images: list[str] = []
        self.links: dict[str, str] = {}
        self.scripts = 0
        self.stylesheets: list[str] = []
        self._open: list[str] = []
        self.text: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids[attrs["id"]] = tag
            self.text[attrs["id"]] = []
            self._open.append(attrs["id"])
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        if tag == "a":
            self.links[attrs.get("id", attrs.get("href", ""))] = attrs.get("href", "")
        if tag == "script":
            self.scripts += 1
        if tag == "link":
            self.stylesheets.append(attrs.get("href", ""))

    def handle_data(self, data):
        for key in self._open:
            self.text[key].append(data)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    study = folder / "study.csv"
    assert (
        main(
            [
                "simulate",
                "--scenario",
                "calibrated",
                "--seed",
                "3",
                "--respondents",
                "400",
                "-o",
                str(study),
            ]
        )
        == 0
    )
    posterior = folder / "post.nc"
    main(["fit", str(study), "-o", str(posterior), "--capacity-covariates", "SEX", *FAST])
    assert posterior.exists()
    html = folder / "report.html"
    csv = folder / "plan.csv"
    args = ["--data", str(study), "--budget", "40", "--allow-unconverged", "--samples", "50"]
    assert main(["report", str(posterior), *args, "-o", str(html)]) == 0
    assert main(["plan", str(posterior), *args, "-o", str(csv)]) == 0
    return html, csv


def test_every_section_is_there_and_not_empty(report):
    html, _ = report
    page = Page()
    page.feed(html.read_text(encoding="utf-8"))
    for section in SECTIONS:
        assert section in page.ids, f"section {section!r} missing"
        assert "".join(page.text[section]).strip(), f"section {section!r} is empty"
    plan_text = " ".join(page.text["plan"])
    assert "expected recruits this round" in plan_text and "Posterior regret" in plan_text
    assert re.search(r"(trust|caution|do not use)", " ".join(page.text["verdict"]))
    assert "R-hat" in html.read_text() or "r_hat" in html.read_text()


def test_the_page_is_self_contained(report):
    html, _ = report
    page = Page()
    page.feed(html.read_text(encoding="utf-8"))
    assert page.images and all(src.startswith("data:image/png;base64,") for src in page.images)
    assert page.scripts == 0 and not page.stylesheets
    assert not re.search(r"(src|href)=\"https?://", html.read_text())


def test_the_download_is_the_allocation_the_plan_command_writes(report):
    html, csv = report
    page = Page()
    page.feed(html.read_text(encoding="utf-8"))
    href = page.links["download-csv"]
    assert href.startswith("data:text/csv;charset=utf-8;base64,")
    embedded = pd.read_csv(io.BytesIO(base64.b64decode(href.split(",", 1)[1])), dtype={"id": str})
    written = pd.read_csv(csv, dtype={"id": str})
    pd.testing.assert_frame_equal(embedded, written)


@pytest.mark.browser
def test_chromium_renders_the_page_without_console_errors(report, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    html, _ = report
    flags = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1300,2400",
    ]
    shot = tmp_path / "report.png"
    result = subprocess.run(
        [*flags, f"--screenshot={shot}", html.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert shot.exists() and shot.stat().st_size > 20_000, result.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    console = [line for line in result.stderr.splitlines() if "CONSOLE" in line]
    assert not console, console
    dom = subprocess.run(
        [*flags, "--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120
    ).stdout
    for section in SECTIONS:
        assert f'id="{section}"' in dom
