"""The case studies' short versions run end to end and write their reports (smoke tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("script", "report"),
    [
        ("tunnel_vision.py", "tunnel_vision-quick.html"),
        ("calibrated_homophily.py", "calibrated_homophily-quick.html"),
        ("priority_subgroups.py", "priority_subgroups-quick.html"),
        # these two fit models (about a minute each): in the slow suite
        pytest.param(
            "network_misspecified.py", "network_misspecified-quick.html", marks=pytest.mark.slow
        ),
        pytest.param("live_rounds.py", "live_rounds-quick.html", marks=pytest.mark.slow),
    ],
)
def test_case_study_quick_version(script, report, tmp_path):
    extra = ["--executor", "serial"] if script != "live_rounds.py" else []
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "case_studies" / script),
            "--quick",
            "-o",
            str(tmp_path),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    html = (tmp_path / report).read_text(encoding="utf-8")
    for section in ('id="question"', 'id="conclusions"', 'id="results"'):
        assert section in html, section
    assert "http://" not in html and "https://" not in html
    assert "wrote" in result.stdout
