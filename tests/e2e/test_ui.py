"""The Airflow UI in headless Debian chromium (Playwright): log in, see orchard_nightly, trigger it with
params, watch the run succeed, see the model tasks in the graph, start a backfill.

Chromium comes from Debian (`scripts/install_test_browser.sh`); `playwright install` is never used.
"""

from __future__ import annotations

import shutil
import time

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: run scripts/install_test_browser.sh (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, airflow_up):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.set_default_timeout(90_000)  # two shared cores: the UI can be slow to render
    expect.set_options(timeout=90_000)
    page.goto(airflow_up.url, wait_until="networkidle")
    page.get_by_label("Username").fill(airflow_up.user)
    page.get_by_label("Password").fill(airflow_up.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Browse")).to_be_visible()
    yield page
    page.close()


def test_trigger_with_params_run_succeeds_and_graph_shows_models(page, airflow_up):
    from playwright.sync_api import expect

    page.goto(f"{airflow_up.url}/dags", wait_until="networkidle")
    expect(page.get_by_text("orchard_nightly")).to_be_visible()
    # the list has a trigger button per DAG: open orchard_nightly's own page before triggering
    page.get_by_text("orchard_nightly").click()
    page.wait_for_url("**/dags/orchard_nightly")
    page.goto(f"{airflow_up.url}/dags/orchard_nightly", wait_until="networkidle")
    expect(page.get_by_text("Backfills", exact=True)).to_be_visible()
    page.get_by_role("button", name="Trigger").first.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Sources to load")).to_be_visible()
    dialog.locator("textarea:visible").first.fill("shop")  # the `sources` param: one per line
    dialog.get_by_role("button", name="Trigger").click()
    page.wait_for_url("**/runs/manual__*")
    run_id = page.url.split("/runs/")[1].split("?")[0].replace("%3A", ":").replace("%2B", "+")
    run = airflow_up.api("GET", f"/dags/orchard_nightly/dagRuns/{run_id}")
    assert run["conf"] == {"full_refresh": False, "sources": ["shop"]}

    finished = airflow_up.wait_for_runs("orchard_nightly", {run_id})
    assert finished[run_id]["state"] == "success"
    page.reload(wait_until="networkidle")
    expect(page.get_by_text("Success").first).to_be_visible()
    page.get_by_role("button", name="Show Graph (Press g)").click()
    page.get_by_role("button", name="Expand all task groups").click()
    # WATCHER (the default): the producer's one `dbt build`, and a task per node watching it; a model
    # with tests is a group of its run and its tests
    for task in ("dbt_producer_watcher", "int_tiny__labelled_run", "snap_tiny_labels_snapshot", "fct_tiny"):
        expect(page.get_by_text(task, exact=True).first).to_be_visible()


def test_start_a_backfill_from_the_ui(page, airflow_up):
    from playwright.sync_api import expect

    airflow_up.wait_for_backfills_to_complete("orchard_nightly")  # one at a time per DAG
    page.goto(f"{airflow_up.url}/dags/orchard_nightly", wait_until="networkidle")
    expect(page.get_by_text("Backfills", exact=True)).to_be_visible()
    page.get_by_role("button", name="Trigger").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Backfill", exact=True).click()
    for which, day in (("first", "2026/11/16"), ("last", "2026/11/17")):
        picker = dialog.get_by_text("Select date and time")
        (picker.first if which == "first" else picker.last).click()
        # On a slow page the first picker may still be open when the second opens: take the
        # visible field of the picker at hand, not "the" visible field.
        date_fields = page.locator('input[placeholder="YYYY/MM/DD"]:visible')
        time_fields = page.locator('input[placeholder="HH:mm"]:visible')
        (date_fields.first if which == "first" else date_fields.last).fill(day)
        (time_fields.first if which == "first" else time_fields.last).fill("02:00")
        page.keyboard.press("Escape")
    expect(dialog.get_by_text("2 runs will be triggered.")).to_be_visible()
    dialog.locator("textarea:visible").first.fill("shop")
    dialog.get_by_role("button", name="Run Backfill").click()

    deadline = time.monotonic() + 60
    backfills = []
    while time.monotonic() < deadline and not backfills:
        backfills = [
            b
            for b in airflow_up.api("GET", "/backfills?dag_id=orchard_nightly")["backfills"]
            if b["from_date"].startswith("2026-11-16")
        ]
        time.sleep(1)
    assert backfills, "the UI did not create the backfill"
    assert backfills[0]["to_date"].startswith("2026-11-17")
    runs = [r for r in airflow_up.runs("orchard_nightly") if r["run_type"] == "backfill"]
    assert {r["logical_date"][:10] for r in runs} >= {"2026-11-16", "2026-11-17"}
