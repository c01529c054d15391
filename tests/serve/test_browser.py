"""The page in a real browser: Debian's Chromium, driven by Selenium through chromedriver.

Uploads the bundled sample through the file input, waits for the comparison and checks that the videos load and
play in step; then a photograph, whose comparison shows pictures. Skipped where Chromium or chromedriver is
missing (`.ci/run` installs both).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from .conftest import SAMPLE, served, sideways_photo

selenium = pytest.importorskip("selenium", reason="the browser test needs selenium (the 'dev' extra)")
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
# Set to a .png path to keep a screenshot of the finished page (how docs/images/serve.png is made).
SCREENSHOT = os.environ.get("VDEBLUR_SERVE_SCREENSHOT")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
                       reason="needs Chromium and chromedriver (apt-get install chromium chromium-driver)"),
]
VIDEOS = ("split-before", "split-after", "before", "after")


@pytest.fixture
def browser(tmp_path: Path):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1200,1100", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    # An explicit chromedriver: Selenium then has nothing to download.
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def video_state(driver: webdriver.Chrome, video_id: str) -> dict:
    return driver.execute_script(
        "const v = document.getElementById(arguments[0]);"
        "return {ready: v.readyState, error: v.error && v.error.code, width: v.videoWidth, time: v.currentTime,"
        " paused: v.paused, frames_shown: v.getVideoPlaybackQuality().totalVideoFrames};", video_id)


def test_upload_the_sample_and_compare_in_chromium(browser: webdriver.Chrome, tmp_path: Path) -> None:
    server_files = tmp_path / "server"
    server_files.mkdir()
    not_a_video = tmp_path / "notes.mp4"
    not_a_video.write_text("not a video\n" * 20)
    with served(server_files, "--threads", "1") as (_, url):
        browser.get(url)
        WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#model option"))

        browser.find_element(By.ID, "file").send_keys(str(not_a_video))
        error = WebDriverWait(browser, 60).until(lambda d: d.find_element(By.ID, "error").text)
        assert error == "Cannot open notes.mp4 as a video: it is corrupt, truncated or not a video file."

        browser.find_element(By.ID, "file").send_keys(str(SAMPLE))
        WebDriverWait(browser, 30).until(lambda d: "frames" in d.find_element(By.ID, "status").text)
        WebDriverWait(browser, 600).until(
            lambda d: d.find_element(By.ID, "compare").is_displayed() or d.find_element(By.ID, "error").text)
        assert not browser.find_element(By.ID, "error").is_displayed()
        for video_id in VIDEOS:
            WebDriverWait(browser, 30).until(lambda d: video_state(d, video_id)["ready"] >= 2)
            state = video_state(browser, video_id)
            assert state["error"] is None and state["width"] == 586, (video_id, state)

        browser.find_element(By.ID, "play").click()
        time.sleep(0.5)
        first = {video_id: video_state(browser, video_id) for video_id in ("before", "after")}
        time.sleep(1.0)
        for video_id, earlier in first.items():
            later = video_state(browser, video_id)
            assert not later["paused"] and later["error"] is None
            # The 0.96 s clip loops, so its clock goes round; the count of frames shown only grows.
            assert later["frames_shown"] >= earlier["frames_shown"] + 10, (video_id, earlier, later)
        drift = browser.execute_script(
            "const a = document.getElementById('before'), b = document.getElementById('after');"
            "const d = Math.abs(a.currentTime - b.currentTime); return Math.min(d, a.duration - d);")
        assert drift < 0.15  # in step (up to the loop's wrap-around)
        assert browser.find_element(By.ID, "download").get_attribute("href").endswith("/download")

        if SCREENSHOT:
            browser.find_element(By.ID, "play").click()  # pause, so the screenshot shows one still frame
            browser.execute_script("document.getElementById('frame').value = 500;"
                                   "document.getElementById('frame').dispatchEvent(new Event('input')); window.scrollTo(0, 0);")
            time.sleep(1.0)
            browser.save_screenshot(SCREENSHOT)

        # Then a photograph (stored sideways, as phones do): the same four places show pictures, upright.
        browser.find_element(By.ID, "again").click()
        browser.find_element(By.ID, "file").send_keys(str(sideways_photo(tmp_path / "holiday.jpg")))
        WebDriverWait(browser, 120).until(
            lambda d: d.find_element(By.ID, "compare").is_displayed() or d.find_element(By.ID, "error").text)
        assert not browser.find_element(By.ID, "error").is_displayed()
        for media_id in VIDEOS:
            WebDriverWait(browser, 30).until(lambda d: picture_state(d, media_id)["complete"])
            assert picture_state(browser, media_id) == {"complete": True, "width": 120, "height": 88, "shown": True}
            assert not browser.find_element(By.ID, media_id).is_displayed()  # the players are hidden
        for control in ("play", "frame"):
            assert not browser.find_element(By.ID, control).is_displayed()
        assert browser.find_element(By.ID, "download").get_attribute("href").endswith("/download")


def picture_state(driver: webdriver.Chrome, media_id: str) -> dict:
    return driver.execute_script(
        "const p = document.getElementById(arguments[0] + '-photo');"
        "return {complete: p.complete && p.naturalWidth > 0, width: p.naturalWidth, height: p.naturalHeight,"
        " shown: p.offsetWidth > 0};", media_id)
