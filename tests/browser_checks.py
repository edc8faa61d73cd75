"""What every page must pass in the browser: axe-core finds nothing serious, and no sideways scroll.

axe-core comes with the pinned `axe-playwright-python` (requirements-dev.txt), which bundles
axe.min.js; it is evaluated through the DevTools protocol, so the app's content security
policy (scripts from our own origin only) does not have to be loosened for it.
"""
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import sync_playwright

from tests.support import ROOT

SHOTS = ROOT / "test-artifacts" / "browser"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
_axe = Axe()
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (it cannot download a browser here)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line each."""
    results = _axe.run(page, options={"resultTypes": ["violations"]}).response
    return [f"{v['id']} ({v['impact']}): {', '.join(str(n['target']) for n in v['nodes'][:5])}"
            for v in results["violations"] if v["impact"] in ("serious", "critical")]


def horizontal_overflow(page) -> int:
    """How many pixels the page is wider than the viewport (0: no sideways scroll)."""
    return page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")


def check_page(page, name: str) -> None:
    """Screenshot the page, then assert axe-core and the no-sideways-scroll rule pass on it."""
    page.wait_for_load_state("load")
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    problems = serious_violations(page)
    overflow = horizontal_overflow(page)
    if overflow > 0:
        problems.append(f"{overflow}px wider than the viewport")
    assert problems == [], f"{name} ({page.url}): {problems}"
