"""The HTML report in a real browser: headless Chromium (Debian's ``chromium``) opens it offline,
the table and charts are in the rendered DOM, no script error or console message occurs, hostile
layer names stay text, and a screenshot is saved (``ARCHCALC_ARTIFACTS`` dir, else pytest's tmp).

Outside CI the test skips when chromium is missing; in CI that is an error (scripts/test.sh
installs it with ``apt-get install -y chromium``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import IN_CI, require

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
         "--enable-logging=stderr", "--v=0"]


def _chromium() -> str:
    for candidate in (os.environ.get("ARCHCALC_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    if IN_CI:
        pytest.fail("chromium not found at /usr/bin/chromium: scripts/test.sh must "
                    "`apt-get install -y chromium` in CI")
    pytest.skip("chromium not installed (apt-get install -y chromium)")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    exe = _chromium()
    profile = tmp_path_factory.mktemp("chromium-profile")

    def run(url: str, *extra: str):
        proc = subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", *extra, url],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return proc

    return run


def _console_messages(stderr: str) -> list:
    # chromium logs every console message and uncaught exception as ...:INFO:CONSOLE(...)] "..."
    return [ln for ln in stderr.splitlines() if ":CONSOLE" in ln or "Uncaught" in ln]


def _html_tag(dom: str) -> str:
    return re.search(r"<html\b[^>]*>", dom).group(0)


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    require("jinja2")
    require("matplotlib")
    from archcalc import analyze

    from test_report import hostile_result

    d = tmp_path_factory.mktemp("pages")
    vgg16 = analyze("vgg16")
    (d / "vgg16.html").write_text(vgg16.report("html"), encoding="utf-8")
    hostile = hostile_result()
    (d / "hostile.html").write_text(hostile.report("html"), encoding="utf-8")
    return {"dir": d, "vgg16": vgg16, "hostile": hostile}


def test_vgg16_report_renders_without_errors(browser, pages):
    proc = browser((pages["dir"] / "vgg16.html").as_uri(), "--dump-dom")
    dom = proc.stdout
    tag = _html_tag(dom)
    assert 'data-archcalc-ready="1"' in tag  # the page's script ran to its end
    assert "data-archcalc-error" not in tag, tag  # window.onerror saw nothing
    assert _console_messages(proc.stderr) == []
    assert dom.count('<tr data-index="') == len(pages["vgg16"].layers)
    assert dom.count("<svg") == 4 and dom.count("<figcaption>") == 4
    assert 'title="click to sort"' in dom  # sort handlers attached


def test_table_sorts_by_a_column(browser, pages):
    # #sort=-6: the per-layer table sorted by params (column 6), largest first
    proc = browser((pages["dir"] / "vgg16.html").as_uri() + "#sort=-6", "--dump-dom")
    assert "data-archcalc-error" not in _html_tag(proc.stdout)
    rows = re.findall(r'<tr data-index="\d+"[^>]*><td class="num">\d+</td><td><code>([^<]+)</code>', proc.stdout)
    assert rows[:3] == ["classifier.0", "classifier.3", "classifier.6"]  # 102.8M, 16.8M, 4.1M params
    assert 'aria-sort="descending"' in proc.stdout


def test_hostile_layer_names_stay_text(browser, pages):
    proc = browser((pages["dir"] / "hostile.html").as_uri(), "--dump-dom")
    tag = _html_tag(proc.stdout)
    assert "data-pwned" not in tag  # the name's <script> did not run
    assert 'data-archcalc-ready="1"' in tag and "data-archcalc-error" not in tag
    assert _console_messages(proc.stderr) == []
    assert proc.stdout.count('<tr data-index="') == len(pages["hostile"].layers)
    assert "&lt;script&gt;document.documentElement.setAttribute('data-pwned','1')&lt;/script&gt;" in proc.stdout


def test_screenshot(browser, pages, tmp_path, record_property):
    out_dir = Path(os.environ.get("ARCHCALC_ARTIFACTS") or tmp_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    shot = out_dir / "report-vgg16.png"
    browser((pages["dir"] / "vgg16.html").as_uri(), f"--screenshot={shot}", "--window-size=1280,2400")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000  # a rendered page, not a blank one
    record_property("screenshot", str(shot))
    print(f"screenshot: {shot}")
