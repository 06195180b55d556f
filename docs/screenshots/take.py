"""Retake the screenshots in this folder: the dosing page during dosing and recovery at tablet
(820x1180) and phone (390x844) size, a prescriber's "today", a course, a patient's chart and
the front desk's booking page, from a fresh test clinic in Chromium.

    python docs/screenshots/take.py     (from the repository root; the venv's Python)

It runs the screenshot test (src/kapcare/dosing/tests/test_tablet_screenshots.py), which is
left out of ordinary test runs because it writes into the repository.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEST = ROOT / "src" / "kapcare" / "dosing" / "tests" / "test_tablet_screenshots.py"

if __name__ == "__main__":
    for old in Path(__file__).parent.glob("*.png"):
        old.unlink()
    os.environ["KAPCARE_SCREENSHOTS"] = "1"
    os.chdir(ROOT)
    sys.exit(pytest.main(["-q", str(TEST)]))
