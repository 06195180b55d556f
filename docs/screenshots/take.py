"""Retake the dosing screenshots in this folder: the dosing page during dosing and recovery at
tablet (820x1180) and phone (390x844) size, a prescriber's "today", a course and a patient's
chart, from a fresh test clinic in Chromium. (The front desk's pages, front-desk-*.png, come
from KAPCARE_SCREENSHOTS=1 on courses/tests/test_front_desk_browser.py.)

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
    os.environ["KAPCARE_SCREENSHOTS"] = "1"
    os.chdir(ROOT)
    sys.exit(pytest.main(["-q", str(TEST)]))
