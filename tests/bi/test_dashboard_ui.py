"""The executive dashboard in headless Debian chromium (Playwright, the e2e tier's launch options): log in,
open it, and every chart rendered (a canvas or an SVG with something drawn, a table, or a big number)."""

from __future__ import annotations

import re
import shutil

import pytest

from orchard.bi.assets import Bundle

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


def test_executive_dashboard_renders_every_chart(bi_stack, browser, tmp_path):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1600, "height": 1300})
    url = bi_stack.superset.url
    page.goto(f"{url}/superset/dashboard/executive_summary/")
    expect(page).to_have_url(re.compile(r"/login/"), timeout=30_000)  # no way in without a login
    page.fill("#username", bi_stack.superset.user)
    page.fill("#password", "not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Invalid username or password")).to_be_visible(timeout=30_000)
    page.fill("#username", bi_stack.superset.user)  # the refused form comes back empty
    page.fill("#password", bi_stack.superset.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(
        re.compile(r"^http://[^/]+/superset/dashboard/executive_summary/"), timeout=60_000
    )

    expected = [chart["slice_name"] for chart in Bundle.load().dashboard_charts("executive_summary")]
    charts = page.locator("[data-test='chart-grid-component']")
    expect(charts).to_have_count(len(expected), timeout=60_000)
    for index in range(len(expected)):
        chart = charts.nth(index)
        drawn = chart.locator("canvas, svg.recharts-surface, table, .header-line, [data-zr-dom-id]")
        expect(drawn.first).to_be_visible(timeout=60_000)
    for name in expected:
        expect(page.get_by_text(name, exact=True).first).to_be_visible()
    # ECharts draw on canvases: each has pixels, not a blank rectangle
    canvases = page.locator("[data-test='chart-grid-component'] canvas")
    assert canvases.count() >= 3
    for index in range(canvases.count()):
        painted = canvases.nth(index).evaluate(
            """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                      for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return true; return false; }"""
        )
        assert painted, f"canvas {index} of the executive dashboard is blank"
    assert not page.get_by_text("Unexpected error").count()
    assert not page.get_by_text("No results were returned").count()
    page.screenshot(path=str(tmp_path / "executive_summary.png"), full_page=True)
