"""The web page in headless Chromium (Debian's package, driven by Playwright): upload a real image,
check what is shown against the API's JSON, use the controls by keyboard, show API errors.

Screenshots are saved under each test's tmp folder (``page-1280x800.png``, ``page-768x1024.png``, ...).
These tests run wherever ``/usr/bin/chromium`` exists (``make install`` puts it there); they skip,
saying why, only where it does not.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from dermkit.serve import ServeConfig, create_app, serve_in_thread

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():  # pragma: no cover - make install provides it
    pytest.skip(
        f"BROWSER TESTS NOT RUN: {CHROMIUM} is missing; run `make install` (apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )

from playwright.sync_api import expect, sync_playwright  # noqa: E402  (after the skip: needs the browser)

TOKEN = "browser-test-token-0123456789"


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def server(analyzer):
    with serve_in_thread(create_app(analyzer, ServeConfig())) as url:
        yield url


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = context.new_page()
    page.console_messages = []  # type: ignore[attr-defined]
    page.on("console", lambda m: page.console_messages.append(f"{m.type}: {m.text}"))
    page.goto(server + "/")
    expect(page.locator("#model-line")).to_contain_text("onnxruntime")
    yield page
    context.close()


def analyse(page, image: Path, **fields) -> None:
    page.set_input_files("#image", str(image))
    if "age" in fields:
        page.fill("#age", fields["age"])
    for name in ("sex", "site"):
        if name in fields:
            page.select_option(f"#{name}", fields[name])
    page.click("#analyze")
    page.wait_for_selector("body[data-state=done], body[data-state=failed]", state="attached", timeout=60_000)


def api_answer(server: str, image: Path, **fields) -> dict:
    files = {"image": (image.name, image.read_bytes(), "image/jpeg")}
    return httpx.post(server + "/api/v1/analyze", files=files, data=fields, timeout=60).json()


def test_the_page_analyses_an_image_and_shows_what_the_api_answers(page, server, lesion_image, tmp_path):
    analyse(page, lesion_image, age="55", sex="female", site="back")
    assert page.evaluate("document.body.dataset.state") == "done", page.inner_text("#error")
    expected = api_answer(server, lesion_image, age="55", sex="female", site="back")
    result = expected["result"]

    # the outline layer: drawn, decoded, stacked over the picked image
    outline = page.locator("#outline-layer")
    expect(outline).to_be_visible()
    assert outline.get_attribute("src") == expected["images"]["outline"]
    assert page.evaluate("document.getElementById('outline-layer').naturalWidth") == expected["images"]["width"]
    assert page.evaluate("document.getElementById('base-image').src").startswith("blob:")
    expect(page.locator("#heatmap-layer")).to_be_visible()

    # the bar chart: one bar per class, values and widths equal to the API's probabilities
    rows = page.locator("#probabilities li.bar-row")
    assert rows.count() == len(result["classes"])
    shown = {r.get_attribute("data-class"): float(r.get_attribute("data-value")) for r in rows.all()}
    assert shown == pytest.approx(result["probabilities"], abs=1e-9)
    for row in rows.all():
        p = result["probabilities"][row.get_attribute("data-class")]
        assert row.locator(".bar-value").inner_text() == f"{100 * p:.1f}%"
        width = row.locator(".bar").evaluate(
            "b => b.getBoundingClientRect().width / b.parentElement.getBoundingClientRect().width"
        )
        assert width == pytest.approx(p, abs=0.01)
    expect(page.locator("#decision-class")).to_contain_text(result["decision"]["class"])
    expect(page.locator("#decision-confidence")).to_have_text(f"{100 * result['decision']['confidence']:.1f}%")
    if result["malignant"] is not None:
        expect(page.locator("#operating-point")).to_contain_text(result["malignant"]["operating_point"])

    # measurements and warnings
    measures = page.locator("#measurements")
    expect(measures.locator("tr").first).to_have_text(f"Area{result['measurements']['area_px']} px")
    expect(measures).to_contain_text("A asymmetry")
    expect(measures).to_contain_text("TDS")
    warnings = [w["message"] for w in expected["warnings"]]
    if warnings:
        items = page.locator("#warning-list li")
        assert items.count() == len(warnings)
        for item, message in zip(items.all(), warnings, strict=True):
            assert message in item.inner_text()
    else:
        expect(page.locator("#warnings")).to_contain_text("no problem found")

    # the model: validated metrics and the intended use
    expect(page.locator("#intended-use-text")).to_contain_text("Not a diagnosis")
    assert page.locator("#metrics tr").count() >= 1
    page.screenshot(path=str(tmp_path / "page-1280x800.png"), full_page=True)

    # the report downloads as a page of its own
    with page.expect_download() as download:
        page.click("#report-link")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == f"{result['image']['id']}_report.html" and result["image"]["id"] in saved.read_text()

    # tablet width: one column, nothing wider than the screen
    page.set_viewport_size({"width": 768, "height": 1024})
    assert page.evaluate("document.documentElement.scrollWidth") <= 768
    page.screenshot(path=str(tmp_path / "page-768x1024.png"), full_page=True)
    assert not [m for m in page.console_messages if "Content Security Policy" in m or m.startswith("error")]


def test_the_controls_work_from_the_keyboard(page, lesion_image, tmp_path):
    page.focus("#image")  # the file input stays in the tab order (visually hidden, not display:none)
    assert page.evaluate("document.activeElement.id") == "image"
    analyse(page, lesion_image)
    page.focus("#show-outline")
    page.keyboard.press("Space")
    expect(page.locator("#outline-layer")).to_be_hidden()
    page.keyboard.press("Space")
    expect(page.locator("#outline-layer")).to_be_visible()
    page.focus("#opacity")
    for _ in range(3):
        page.keyboard.press("ArrowLeft")
    assert page.evaluate("document.getElementById('heatmap-layer').style.opacity") == "0.57"
    expect(page.locator("#opacity-value")).to_have_text("57%")
    page.focus("#show-heatmap")
    page.keyboard.press("Space")
    expect(page.locator("#heatmap-layer")).to_be_hidden()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "opacity"
    page.screenshot(path=str(tmp_path / "keyboard.png"))


@pytest.mark.parametrize(
    ("content", "fields", "code", "text"),
    [
        (b"this is not an image", {}, "not_an_image", "not an image the server can read"),
        (None, {"age": "abc"}, "invalid_age", "The age is not valid"),
    ],
    ids=["not an image", "bad age"],
)
def test_api_errors_are_shown_in_the_page(page, lesion_image, tmp_path, content, fields, code, text):
    image = lesion_image
    if content is not None:
        analyse(page, lesion_image)  # a result first: a failed request must not leave it on show
        expect(page.locator("#results")).to_be_visible()
        image = tmp_path / "fake.jpg"
        image.write_bytes(content)
    analyse(page, image, **fields)
    error = page.locator("#error")
    expect(error).to_be_visible()
    assert error.get_attribute("data-code") == code
    expect(error).to_contain_text(text)
    expect(error).to_have_attribute("role", "alert")
    assert page.locator("#results").is_hidden()
    page.screenshot(path=str(tmp_path / f"error-{code}.png"))


def test_the_page_asks_for_the_token_when_the_server_needs_one(browser, analyzer, lesion_image, tmp_path):
    with serve_in_thread(create_app(analyzer, ServeConfig(token=TOKEN))) as url:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.goto(url + "/")
        expect(page.locator("#token-panel")).to_be_visible()
        expect(page.locator("#error")).to_contain_text("access token is missing or wrong")
        page.fill("#token", TOKEN)
        page.keyboard.press("Enter")
        expect(page.locator("#model-line")).to_contain_text("onnxruntime")
        expect(page.locator("#token-panel")).to_be_hidden()
        analyse(page, lesion_image)
        assert page.evaluate("document.body.dataset.state") == "done"
        assert json.loads(page.evaluate("JSON.stringify(Object.keys(sessionStorage))")) == ["dermkit-token"]
        context.close()
