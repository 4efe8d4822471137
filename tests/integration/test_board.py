"""The presence board in a real browser (headless Debian chromium through
chromedriver): log in, live cards from a real Prosody and slixmpp buddy,
hostile status text shown as text, the filter, logging out."""
import os
import shutil

import pytest

from harness import free_port, peer_conf

webdriver = pytest.importorskip("selenium.webdriver", reason="no python3-selenium")
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
if not os.access(CHROMEDRIVER, os.X_OK) or not shutil.which("chromium"):
    pytest.skip("no chromium and chromium-driver", allow_module_level=True)

from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

HOSTILE = '<img src=x onerror="document.title=\'pwned\'">&amp; "mobile: sip:1@x"'


@pytest.fixture
def browser(tmp_path):
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--no-first-run", "--disable-background-networking", "--disable-sync",
                "--disable-extensions", "--disable-component-update",
                f"--user-data-dir={tmp_path / 'chromium'}"):
        opts.add_argument(arg)
    service = Service(executable_path=CHROMEDRIVER, log_path=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(options=opts, service=service)
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


def wait(driver, cond, what, timeout=15):
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: cond(d))
    except Exception:
        logs = driver.get_log("browser")
        raise AssertionError(f"timed out waiting for {what}; page: {driver.page_source[:3000]}"
                             f"; console: {logs}") from None


def card(driver, name):
    for c in driver.find_elements(By.CSS_SELECTOR, "article.card"):
        if c.get_attribute("data-name") == name:
            return c
    return None


def test_board_live(prosody, robot, buddies, daemon, browser):
    b = buddies("buckaroo")
    port = free_port()
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody, subscribe=["buckaroo"])
               + "[alice]\ntype = webuser\nsecret = alice-pw\nsend = yes\n",
               general_extra=f"httpbind = 127.0.0.1:{port}")
    d.wait_status("aim1/buckaroo", subscription="both")
    b.presence(show="away", status="gone fishing")
    d.wait_status("aim1/buckaroo", status="away")

    browser.get(f"http://127.0.0.1:{port}/")
    form = wait(browser, lambda dr: dr.find_element(By.ID, "login").is_displayed()
                and dr.find_element(By.ID, "login"), "the login form")
    form.find_element(By.NAME, "user").send_keys("alice")
    form.find_element(By.NAME, "secret").send_keys("wrong")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser, lambda dr: "Wrong" in dr.find_element(By.ID, "login-error").text, "the error")
    secret = form.find_element(By.NAME, "secret")
    secret.clear()
    secret.send_keys("alice-pw")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    c = wait(browser, lambda dr: card(dr, "buckaroo"), "buckaroo's card")
    assert "s-away" in c.get_attribute("class")
    assert c.find_element(By.CSS_SELECTOR, ".text").text == "gone fishing"
    assert browser.find_element(By.CSS_SELECTOR, "section.peer h2").text == "aim1"
    assert c.find_elements(By.CSS_SELECTOR, "button.message")  # alice may send
    assert not c.find_elements(By.CSS_SELECTOR, "button.call")  # but not dial

    # A change arrives live; hostile text is shown as text, never run.
    b.presence(show="dnd", status=HOSTILE)
    wait(browser, lambda dr: "s-busy" in card(dr, "buckaroo").get_attribute("class"), "busy")
    c = card(browser, "buckaroo")
    assert c.find_element(By.CSS_SELECTOR, ".text").text == HOSTILE
    assert browser.find_elements(By.TAG_NAME, "img") == []
    assert browser.title != "pwned"
    assert browser.find_element(By.ID, "conn").text == "live"

    # Going offline shows the last-seen time; the filter hides what does not match.
    b.unavailable()
    wait(browser, lambda dr: "s-offline" in card(dr, "buckaroo").get_attribute("class"), "offline")
    browser.find_element(By.ID, "filter").send_keys("nobody-like-that")
    wait(browser, lambda dr: not card(dr, "buckaroo").is_displayed(), "the filter")

    # Logging out returns to the form; the cookie no longer opens the API.
    browser.find_element(By.ID, "logout").click()
    wait(browser, lambda dr: dr.find_element(By.ID, "login").is_displayed(), "the login form again")
    status = browser.execute_async_script(
        "const done = arguments[0];"
        "fetch('/api/v1/session', {credentials: 'same-origin'}).then(r => done(r.status));")
    assert status == 401
    assert "alice-pw" not in d.read_log()
