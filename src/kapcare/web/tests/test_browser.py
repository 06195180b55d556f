"""End to end in Chromium: the nurse signs in and sees today and the patient list."""

from __future__ import annotations

import pytest

from kapcare.conftest import sign_in
from kapcare.demodata.seed import seed_patients

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_nurse_sees_today_and_the_patient_list(page, make_user):
    nurse = make_user("nurse", email="nurse.browser@test.example", full_name="Nina Browser")
    seed_patients(40, seed=7)

    sign_in(page, nurse.email)
    page.wait_for_url("**/today/")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Today")
    assert page.get_by_text("Nina Browser").is_visible()

    page.get_by_role("link", name="Patients").click()
    page.wait_for_url("**/patients/")
    assert page.get_by_text("40 patients").is_visible()
    rows = page.locator("table.data tbody tr")
    assert rows.count() == 25

    # Live search (HTMX) narrows the list without a page reload.
    first_family = rows.first.locator("th").inner_text().split(",")[0]
    page.get_by_label("Search by name, MRN, email or phone").fill(first_family)
    page.wait_for_url(f"**/patients/?q={first_family}")
    for name in page.locator("table.data tbody th").all_inner_texts():
        assert first_family in name


def test_tablet_portrait_layout_keeps_navigation_usable(page, make_user):
    nurse = make_user("nurse", email="nurse.tablet@test.example")
    page.set_viewport_size({"width": 768, "height": 1024})
    sign_in(page, nurse.email)
    page.wait_for_url("**/today/")
    nav_link = page.get_by_role("link", name="Patients")
    box = nav_link.bounding_box()
    assert box is not None and box["height"] >= 44  # a comfortable touch target
    # Nothing overflows sideways at tablet width.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
