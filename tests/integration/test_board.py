"""The presence board in a real browser (headless Debian chromium through
chromedriver): log in, live cards from a real Prosody and slixmpp buddy,
hostile status text shown as text, the filter, logging out."""
import os
import shutil

import pytest

import ami
from harness import free_port, peer_conf, wait_for
from test_agi import HOSTILE, safe_rendering

webdriver = pytest.importorskip("selenium.webdriver", reason="no python3-selenium")
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
if not os.access(CHROMEDRIVER, os.X_OK) or not shutil.which("chromium"):
    pytest.skip("no chromium and chromium-driver", allow_module_level=True)

from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException  # noqa: E402,E501
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

# The FastAGI suite's hostile texts and ten aimed at a web page: 61 in all.
# Any that ran would set the sentinel window.__pwned.
WEB_HOSTILE = [
    "<script>window.__pwned=1</script>", '<img src=x onerror="window.__pwned=2">',
    "<svg onload=window.__pwned=3>", "javascript:window.__pwned=4",
    "</article></div><h1>owned</h1>", '"><iframe src="javascript:parent.__pwned=5">',
    "{{constructor.constructor('window.__pwned=6')()}}", "<style>*{display:none}</style>",
    "&#60;script&#62;window.__pwned=7&#60;/script&#62;", "\u003cb\u003ebold\u003c/b\u003e",
]
ALL_HOSTILE = HOSTILE + WEB_HOSTILE


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
    # An element looked up just before the page reloads (logout) goes stale:
    # that is "not yet", not a failure.
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.1,
                             ignored_exceptions=(NoSuchElementException,
                                                 StaleElementReferenceException)).until(
            lambda d: cond(d))
    except Exception:
        logs = driver.get_log("browser")
        raise AssertionError(f"timed out waiting for {what}; page: {driver.page_source[:3000]}"
                             f"; console: {logs}") from None


def log_in(driver, port, user, secret):
    """Opens the board and submits its login form; returns the form."""
    driver.get(f"http://127.0.0.1:{port}/")
    form = wait(driver, lambda dr: dr.find_element(By.ID, "login").is_displayed()
                and dr.find_element(By.ID, "login"), "the login form")
    form.find_element(By.NAME, "user").send_keys(user)
    form.find_element(By.NAME, "secret").send_keys(secret)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    return form


def card(driver, name):
    for c in driver.find_elements(By.CSS_SELECTOR, "article.card"):
        if c.get_attribute("data-name") == name:
            return c
    return None


def text_of(driver, name="buckaroo"):
    c = card(driver, name)
    return c and driver.execute_script(
        "return arguments[0].querySelector('.text').textContent", c)


def test_board_live(tmp_path, prosody, robot, buddies, daemon, browser, fake_ami):
    fake = fake_ami
    b = buddies("buckaroo")
    port = free_port()
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody, subscribe=["buckaroo"],
                         extra="dialcontext = imstatus-dial\ndialtargets = extensions, +1215*, sip:*@pbx.example.org")
               + "[alice]\ntype = webuser\nsecret = alice-pw\nsend = yes\n"
               + "dial = yes\nphone = PJSIP/desk\n",
               general_extra=f"httpbind = 127.0.0.1:{port}\n" + ami.general_keys(fake))
    d.wait_status("aim1/buckaroo", subscription="both")
    wait_for(lambda: "device states in sync" in d.read_log(), 10, what="AMI login")
    b.presence(show="away", status="gone fishing")
    d.wait_status("aim1/buckaroo", status="away")

    form = log_in(browser, port, "alice", "wrong")
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
    assert c.find_elements(By.CSS_SELECTOR, "button.call")  # and dial

    # Every hostile text arrives live and is shown literally; none runs,
    # none breaks the layout.
    assert len(ALL_HOSTILE) == 61
    width = browser.execute_script("return document.documentElement.clientWidth")
    for i, text in enumerate(ALL_HOSTILE):
        want = safe_rendering(f"{i:02d}|{text}")
        b.presence(show="dnd", status=f"{i:02d}|{text}")
        wait(browser, lambda dr: text_of(dr) == want, f"hostile text {i}")
        assert browser.execute_script("return window.__pwned") is None, repr(text)
        assert browser.execute_script(
            "return document.querySelector('article.card').getBoundingClientRect().right") <= width
    assert browser.find_elements(By.CSS_SELECTOR, "img, svg, iframe, script:not([src]), style") == []
    assert browser.find_element(By.ID, "conn").text == "live"

    # "On the phone" flashes; "call" places the call to the status's number.
    b.presence(show="dnd", status="busy/sip:1234@pbx.example.org")
    c = wait(browser, lambda dr: "s-phone" in card(dr, "buckaroo").get_attribute("class")
             and card(dr, "buckaroo"), "on the phone")
    assert c.find_element(By.CSS_SELECTOR, ".state").text == "on the phone"
    assert browser.execute_script("return getComputedStyle(arguments[0]).animationName", c) == "flash"
    browser.save_screenshot(str(tmp_path / "board.png"))
    # On a phone-sized screen nothing needs sideways scrolling; "call" is
    # reached and pressed from the keyboard (Tab from the card, Enter).
    browser.set_window_size(375, 700)
    wait(browser, lambda dr: dr.execute_script("return document.documentElement.clientWidth") < 400,
         "the narrow window")
    assert browser.execute_script("return document.documentElement.scrollWidth <= "
                                  "document.documentElement.clientWidth")
    browser.save_screenshot(str(tmp_path / "board-phone.png"))
    browser.execute_script("arguments[0].focus()", c)
    ActionChains(browser).send_keys(Keys.TAB).perform()
    assert browser.switch_to.active_element.get_attribute("class") == "call"
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    wait_for(lambda: fake.originates, 10, what="the Originate")
    o = fake.originates[0]
    assert ami.get(o, "Channel") == "PJSIP/desk" and ami.get(o, "Exten") == "uri"
    assert ami.get(o, "Variable") == "IMSTATUS_DIAL=sip:1234@pbx.example.org"
    wait(browser, lambda dr: card(dr, "buckaroo").find_element(By.CSS_SELECTOR, "button.call").text
         == "calling…", "the call button's answer")

    # The daemon goes away: the page says so.  Back, it has forgotten the
    # session: the page asks to log in again, then shows a fresh snapshot
    # (here a change made while the daemon was away).
    d.stop()
    wait(browser, lambda dr: dr.find_element(By.ID, "conn").text == "reconnecting…", "reconnecting")
    b.presence(show="away", status="back soon")
    d.start()
    wait(browser, lambda dr: dr.find_element(By.ID, "login").is_displayed()
         and "log in again" in dr.find_element(By.ID, "login-error").text, "log in again", 30)
    secret = form.find_element(By.NAME, "secret")
    secret.clear()
    secret.send_keys("alice-pw")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser, lambda dr: dr.find_element(By.ID, "conn").text == "live"
         and text_of(dr) == "back soon", "the snapshot after reconnecting", timeout=30)
    assert "s-away" in card(browser, "buckaroo").get_attribute("class")

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


def test_board_people(tmp_path, prosody, robot, buddies, daemon, browser, fake_ami):
    # A person's card: her phone beside her IM state, and her DND switch for
    # those who may (hers; the dnd right), live both ways; the API checks the
    # same rights.
    from test_http import Api
    fake = fake_ami
    fake.hints = {("default", "205"): ("Custom:ph205", "Idle")}
    fake.devices["Custom:DND205"] = "NOT_INUSE"
    b = buddies("buckaroo")
    port = free_port()
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody, subscribe=["buckaroo"])
               + "[jane]\ntype = person\nextension = 205@default\nim = aim1/buckaroo\n"
               "dnd = Custom:DND205\n"
               "[alice]\ntype = webuser\nsecret = alice-pw\nperson = jane\n"
               "[bob]\ntype = webuser\nsecret = bob-pw\ndial = yes\nphone = PJSIP/bob\n",
               general_extra=f"httpbind = 127.0.0.1:{port}\n" + ami.general_keys(fake))
    d.wait_status("aim1/buckaroo", subscription="both")
    wait_for(lambda: "device states in sync" in d.read_log(), 10, what="AMI login")
    b.presence(status="at my desk")
    d.wait_status("aim1/buckaroo", status="online")

    # The API: bob sees her but may not switch her DND.
    bob = Api(port, "bob", "bob-pw")
    people = wait_for(lambda: (lambda r: r[2] if r[0] == 200 and r[2][0]["phone"] == "idle"
                               else None)(bob.request("GET", "/api/v1/people")), 10,
                      what="jane's phone listed")
    assert [p["person"] for p in people] == ["jane"] and people[0]["dnd"] is False
    status, _, body = bob.request("POST", "/api/v1/people/jane/dnd", {"dnd": True})
    assert status == 403 and fake.devices["Custom:DND205"] == "NOT_INUSE"
    status, _, _ = bob.request("GET", "/api/v1/people/nobody")
    assert status == 404
    # bob's "call": his phone rings, then her extension in its context.
    status, _, body = bob.request("POST", "/api/v1/people/jane/call", {})
    assert status == 200 and body == {"result": "OK", "calling": "PJSIP/bob"}
    orig = wait_for(lambda: fake.originates, 10, what="the Originate")[-1]
    assert (ami.get(orig, "Channel"), ami.get(orig, "Context"), ami.get(orig, "Exten")) == \
        ("PJSIP/bob", "default", "205")
    status, _, _ = Api(port, "alice", "alice-pw").request("POST", "/api/v1/people/jane/call", {})
    assert status == 403  # alice has no dial right
    status, _, _ = Api(port, "alice", "alice-pw").request("POST", "/api/v1/people/jane/dnd",
                                                          {"dnd": "yes"})
    assert status == 400

    log_in(browser, port, "alice", "alice-pw")
    c = wait(browser, lambda dr: card(dr, "jane"), "jane's card")
    assert not c.find_elements(By.CSS_SELECTOR, "button.call")  # her own card, no dial right
    wait(browser, lambda dr: card(dr, "jane").get_attribute("data-phone") == "idle", "phone idle")
    assert browser.find_element(By.CSS_SELECTOR, "section.peer h2").text == "People"
    assert c.find_element(By.CSS_SELECTOR, ".text").text == "at my desk"
    # Her phone rings, then she is on it.
    fake.set_hint("default", "205", "Ringing")
    wait(browser, lambda dr: card(dr, "jane").find_element(By.CSS_SELECTOR, ".phone").text
         == "phone: ringing", "ringing")
    fake.set_hint("default", "205", "InUse")
    wait(browser, lambda dr: card(dr, "jane").find_element(By.CSS_SELECTOR, ".phone").text
         == "phone: on the phone", "on the phone")
    fake.set_hint("default", "205", "Idle")
    # Her own switch, by mouse: Asterisk's device follows; by keyboard, back.
    sw = card(browser, "jane").find_element(By.CSS_SELECTOR, "button.dnd")
    sw.click()
    wait_for(lambda: fake.devices.get("Custom:DND205") == "BUSY", 10, what="the device on")
    wait(browser, lambda dr: card(dr, "jane").get_attribute("data-dnd") == "on", "dnd on")
    sw = card(browser, "jane").find_element(By.CSS_SELECTOR, "button.dnd")
    assert sw.get_attribute("aria-pressed") == "true"
    assert card(browser, "jane").find_element(By.CSS_SELECTOR, ".state").text == "do not disturb"
    sw.send_keys(Keys.ENTER)
    wait_for(lambda: fake.devices.get("Custom:DND205") == "NOT_INUSE", 10, what="the device off")
    wait(browser, lambda dr: card(dr, "jane").get_attribute("data-dnd") == "off", "dnd off")
    # The dialplan's *78 (the device) reaches the board too.
    fake.set_device("Custom:DND205", "BUSY")
    wait(browser, lambda dr: card(dr, "jane").get_attribute("data-dnd") == "on", "dnd from *78")
    assert "jane: do not disturb on (the board)" in d.read_log()
    # On a phone-sized screen her card (phone line, switch) needs no sideways
    # scrolling either, and the switch stays inside it.
    browser.set_window_size(375, 700)
    wait(browser, lambda dr: dr.execute_script("return document.documentElement.clientWidth") < 400,
         "the narrow window")
    assert browser.execute_script("return document.documentElement.scrollWidth <= "
                                  "document.documentElement.clientWidth")
    c = card(browser, "jane")
    assert browser.execute_script(
        "const c = arguments[0].getBoundingClientRect(), s = arguments[1].getBoundingClientRect();"
        "return s.left >= c.left && s.right <= c.right && c.right <= "
        "document.documentElement.clientWidth", c, c.find_element(By.CSS_SELECTOR, "button.dnd"))
    browser.save_screenshot(str(tmp_path / "board-people-phone.png"))


def test_board_people_on_a_real_asterisk(tmp_path, prosody, robot, buddies, daemon, browser):
    # The same card against a real Asterisk 22: her hint rings, her switch
    # sets the DND device, and *79 from the sample's [imstatus-dnd] clears
    # it on the board.
    import re
    import real_asterisk
    from test_people import DIALPLAN
    binary = real_asterisk.require_asterisk()
    a = real_asterisk.Asterisk(str(tmp_path / "asterisk"), binary, extensions=DIALPLAN)
    a.start()
    b = buddies("buckaroo")
    try:
        a.rx("devstate change Custom:ph205 NOT_INUSE")
        a.rx("devstate change Custom:DND205 NOT_INUSE")
        port = free_port()
        d = daemon(peer_conf("aim1", robot[0], robot[1], prosody, subscribe=["buckaroo"])
                   + "[jane]\ntype = person\nextension = 205@default\nim = aim1/buckaroo\n"
                   "dnd = Custom:DND205\n"
                   "[alice]\ntype = webuser\nsecret = alice-pw\nperson = jane\n",
                   general_extra=f"httpbind = 127.0.0.1:{port}\namihost = 127.0.0.1\n"
                                 f"amiport = {a.ami_port}\namiuser = imstatus\n"
                                 "amisecret = another-s3cret\n")
        wait_for(lambda: "device states in sync" in d.read_log(), 20, what="AMI login")
        b.presence(status="at my desk")

        def device():
            m = re.search(r"Name: 'Custom:DND205'\s+State: '(\w+)'", a.rx("devstate list"))
            return m and m.group(1)
        log_in(browser, port, "alice", "alice-pw")
        wait(browser, lambda dr: card(dr, "jane") and card(dr, "jane").get_attribute(
            "data-phone") == "idle", "jane's card, phone idle")
        a.rx("devstate change Custom:ph205 RINGING")
        wait(browser, lambda dr: card(dr, "jane").get_attribute("data-phone") == "ringing",
             "ringing")
        a.rx("devstate change Custom:ph205 NOT_INUSE")
        card(browser, "jane").find_element(By.CSS_SELECTOR, "button.dnd").click()
        wait_for(lambda: device() == "BUSY", 10, what="Custom:DND205 on")
        wait(browser, lambda dr: card(dr, "jane").get_attribute("data-dnd") == "on", "dnd on")
        a.rx("channel originate Local/*79@features application Wait 1")
        wait(browser, lambda dr: card(dr, "jane").get_attribute("data-dnd") == "off",
             "dnd off by *79")
        assert device() == "NOT_INUSE"
    finally:
        a.stop()
