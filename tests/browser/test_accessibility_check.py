"""The accessibility check the page tests rely on finds a real violation (so an empty list from it means something)."""

from __future__ import annotations

from tests.browser_support import PageWatch, axe_violations

PAGE_URL = "http://pages.test/"
INACCESSIBLE = ("<!doctype html><html lang='en'><head><title>t</title></head><body><main>"
                "<img src='data:image/gif;base64,R0lGODlhAQABAAAAACw='><input type='text'></main></body></html>")


async def test_axe_reports_an_image_without_alt_text_and_an_unlabelled_field(chromium):
    page = await chromium.new_page()
    watch = await PageWatch.attach(page, {PAGE_URL: INACCESSIBLE})
    await page.goto(PAGE_URL)
    found = {violation["id"] for violation in await axe_violations(page.main_frame)}
    assert {"image-alt", "label"} <= found, found
    assert watch.console_errors == []
