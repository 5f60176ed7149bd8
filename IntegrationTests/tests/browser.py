"""Headless Chromium (Debian's `chromium` + `chromium-driver`, driven by selenium) for the tests of
Gatehouse's HTML pages, and the loopback HTTP server that receives OAuth 2.0 redirects.

The browser is always the system binary and the system driver (never selenium-manager, which
would try to download one), accepts Gatehouse's self-signed test certificate, and saves a
screenshot of every page it shows into IntegrationTests/artifacts/screenshots/<test>-<step>.png
(not committed) so a reviewer can look at the pages. Chromium's DevTools performance log records
every document response (URL, status, headers): selenium cannot see headers otherwise.
"""

from __future__ import annotations

import dataclasses
import html.parser
import json
import os
import queue
import re
import shutil
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from harness import IT_DIR

CHROMIUM = Path(os.environ.get("GATEHOUSE_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("GATEHOUSE_CHROMEDRIVER", "/usr/bin/chromedriver"))
SCREENSHOTS = IT_DIR / "artifacts" / "screenshots"

PAGE_TIMEOUT = 30.0


def artifact_name(text: str) -> str:
    """A test or step name made safe as a file name ("test_x[h2]" -> "test_x_h2")."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


def remove_screenshots(test: str) -> None:
    """Drop the screenshots a previous run of this test left (other tests' stay)."""
    for old in SCREENSHOTS.glob(f"{artifact_name(test)}-*"):
        old.unlink(missing_ok=True)


@dataclasses.dataclass
class DocumentResponse:
    """One response to a top-level navigation, as Chromium received it (redirects included)."""
    url: str
    status: int
    headers: dict[str, str]     # names lower-cased

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


class Browser:
    """One headless Chromium with a fresh profile (its own cookie jar: a separate browser session)."""

    def __init__(self, test: str, label: str = ""):
        for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
            if not os.access(path, os.X_OK):
                raise RuntimeError(f"{path} is missing: run scripts/install-deps.sh (Debian package {package})")
        self.prefix = artifact_name(test) + (f"-{artifact_name(label)}" if label else "")
        self.step = 0
        self.responses: list[DocumentResponse] = []
        self.screenshots: list[Path] = []
        self.profile = Path(tempfile.mkdtemp(prefix="gatehouse-it-chromium-"))
        opts = Options()
        opts.binary_location = str(CHROMIUM)
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--ignore-certificate-errors",          # Gatehouse's test certificate is self-signed
                    "--no-proxy-server",                    # everything is on loopback
                    "--no-first-run", "--disable-background-networking", "--disable-sync",
                    "--password-store=basic", "--lang=en-US", "--window-size=1024,900",
                    f"--user-data-dir={self.profile}"):
            opts.add_argument(arg)
        opts.accept_insecure_certs = True
        # No password-manager bubbles or leak checks over the pages (they would cover the screenshots).
        opts.add_experimental_option("prefs", {"credentials_enable_service": False,
                                               "profile.password_manager_enabled": False,
                                               "profile.password_manager_leak_detection": False})
        opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        self.driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
        self.driver.set_page_load_timeout(PAGE_TIMEOUT)

    # ------------------------------------------------------------------ navigation
    def get(self, url: str, step: str | None = None) -> None:
        """Open `url` (following redirects) and screenshot the page it ends on."""
        self.driver.get(url)
        self._settled(step)

    def click(self, element_id: str, step: str | None = None) -> None:
        """Click the element with this id (a submit button), wait for the next document, screenshot it."""
        self._press(self.driver.find_element(By.ID, element_id), step)

    def submit(self, form_id: str, step: str | None = None) -> None:
        """Press form#form_id's (first) submit button."""
        self._press(self.in_form(form_id, "[type=submit]"), step)

    def _press(self, button: WebElement, step: str | None = None) -> None:
        before = self.driver.find_element(By.TAG_NAME, "html")
        button.click()
        WebDriverWait(self.driver, PAGE_TIMEOUT).until(lambda d: self._is_gone(before))
        self._settled(step)

    @staticmethod
    def _is_gone(element: WebElement) -> bool:
        """Whether the document `element` belongs to has been replaced. Chromium reports a node of a
        document that is being torn down either as stale or, in a narrow window, as an inspector
        error "Node with given id does not belong to the document": both mean it is gone."""
        try:
            return expected_conditions.staleness_of(element)(None)
        except WebDriverException as error:
            if "does not belong to the document" in str(error):
                return True
            raise

    def _settled(self, step: str | None = None) -> None:
        # A page may navigate on its own (form_post's self-submitting form): retry across that.
        WebDriverWait(self.driver, PAGE_TIMEOUT, ignored_exceptions=(WebDriverException,)).until(
            lambda d: d.execute_script("return document.readyState") == "complete")
        self._collect_responses()
        self.shot(step)

    def page_name(self) -> str:
        """What the page is, for a screenshot's name: its form ("login" for form#login-form), else its
        h1's id ("error-title"), else its path's last segment."""
        for form_id in self.form_ids():
            if form_id:
                return form_id.removesuffix("-form")
        headings = [h.get_attribute("id") for h in self.driver.find_elements(By.TAG_NAME, "h1")]
        return next((h for h in headings if h), None) or self.path.rstrip("/").rsplit("/", 1)[-1] or "root"

    def shot(self, step: str | None = None) -> Path:
        """Screenshot the page as <test>[-label]-NN-<step>.png (step None: named after the page)."""
        step = step or self.page_name()
        self.step += 1
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.prefix}-{self.step:02d}-{artifact_name(step)}.png"
        if not self.driver.save_screenshot(str(path)):
            raise RuntimeError(f"Chromium could not save the screenshot {path}")
        self.screenshots.append(path)
        return path

    def save_failure(self) -> None:
        """Screenshot and HTML of the page a failed test ended on."""
        try:
            self.shot("FAILED")
            (SCREENSHOTS / f"{self.prefix}-FAILED.html").write_text(self.driver.page_source)
        except Exception:  # noqa: BLE001 - best effort, the test has failed already
            pass

    def _collect_responses(self) -> None:
        """Drain Chromium's performance log: every document response (and redirect) since the last call."""
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            params = message.get("params", {})
            if message.get("method") == "Network.responseReceived" and params.get("type") == "Document":
                response = params["response"]
            elif (message.get("method") == "Network.requestWillBeSent" and params.get("type") == "Document"
                  and "redirectResponse" in params):
                response = params["redirectResponse"]
            else:
                continue
            self.responses.append(DocumentResponse(
                response["url"], int(response["status"]),
                {k.lower(): v for k, v in response.get("headers", {}).items()}))

    # ------------------------------------------------------------------ reading the page
    @property
    def url(self) -> str:
        return self.driver.current_url

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def text(self) -> str:
        return self.driver.find_element(By.TAG_NAME, "body").text

    def form_ids(self) -> list[str]:
        return [f.get_attribute("id") or "" for f in self.driver.find_elements(By.TAG_NAME, "form")]

    def element(self, element_id: str) -> WebElement:
        return self.driver.find_element(By.ID, element_id)

    def has(self, element_id: str) -> bool:
        return bool(self.driver.find_elements(By.ID, element_id))

    def in_form(self, form_id: str, css: str) -> WebElement:
        """An element of form#form_id: the contract names each page by its form's id."""
        try:
            return self.driver.find_element(By.CSS_SELECTOR, f"form#{form_id} {css}")
        except NoSuchElementException:
            raise AssertionError(f"no `{css}` in form#{form_id} on {self.url}; forms: {self.form_ids()}\n"
                                 f"{self.text[:2000]}") from None

    def expect_form(self, form_id: str) -> None:
        assert form_id in self.form_ids(), f"expected form#{form_id} on {self.url}, found {self.form_ids()}:\n{self.text[:2000]}"
        csrf = self.in_form(form_id, "input[name=csrf]")
        assert csrf.get_attribute("type") == "hidden" and csrf.get_attribute("value"), "form without a CSRF token"

    # ------------------------------------------------------------------ the contract's forms
    def login(self, username: str, password: str, step: str | None = None) -> None:
        """Fill form#login-form and submit it."""
        self.expect_form("login-form")
        user = self.in_form("login-form", "#username")
        assert user.get_attribute("name") == "username"
        secret = self.in_form("login-form", "#password")
        assert (secret.get_attribute("name"), secret.get_attribute("type")) == ("password", "password")
        user.clear()
        user.send_keys(username)
        secret.send_keys(password)
        self.click("submit", step)

    def register(self, username: str, password: str, step: str | None = None) -> None:
        """Fill form#register-form (ticking the terms box when there is one) and submit it."""
        self.expect_form("register-form")
        self.in_form("register-form", "[name=username]").send_keys(username)
        self.in_form("register-form", "[name=password]").send_keys(password)
        self.in_form("register-form", "[name=password_confirm]").send_keys(password)
        terms = self.driver.find_elements(By.CSS_SELECTOR, "form#register-form [name=accept_terms]")
        if terms and not terms[0].is_selected():
            terms[0].click()
        self.click("submit", step)

    def decide(self, form_id: str, action: str, step: str | None = None) -> None:
        """Press the consent or reject button (name=action, value and id = `action`) of form#form_id."""
        self.expect_form(form_id)
        button = self.in_form(form_id, f"#{action}")
        assert (button.get_attribute("name"), button.get_attribute("value")) == ("action", action)
        self.click(action, step)

    def cookies(self) -> dict[str, dict]:
        return {c["name"]: c for c in self.driver.get_cookies()}

    def quit(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)


# --------------------------------------------------------------------------- HTML without a browser
class FormReader(html.parser.HTMLParser):
    """The forms of a page, for plain-HTTP checks: {form id: {"action", "method", "inputs": {name: value}}}."""

    def __init__(self, page: str):
        super().__init__()
        self.forms: dict[str, dict] = {}
        self._current: dict | None = None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._current = {"action": a.get("action"), "method": (a.get("method") or "get").lower(), "inputs": {}}
            self.forms[a.get("id") or f"form{len(self.forms)}"] = self._current
        elif tag in ("input", "button") and self._current is not None and a.get("name"):
            self._current["inputs"].setdefault(a["name"], a.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


# --------------------------------------------------------------------------- the loopback redirect URI
@dataclasses.dataclass
class Arrival:
    """One request the loopback server received: an OAuth 2.0 redirect (query), a form_post (form)."""
    method: str
    path: str
    raw_query: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]

    def one(self, name: str, source: str = "query") -> str:
        values = (self.query if source == "query" else self.form).get(name, [])
        assert len(values) == 1, f"{name!r} appears {len(values)} times in the {source} of {self.method} {self.path}?{self.raw_query}"
        return values[0]


class LoopbackReceiver:
    """A tiny HTTP server on 127.0.0.1 (a native app's loopback redirect URI, RFC 8252 §7.3): records
    every GET and POST it gets (but the browser's favicon requests) and answers with a small page."""

    def __init__(self) -> None:
        self.arrivals: queue.Queue[Arrival] = queue.Queue()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self, body: bytes) -> None:
                split = urlsplit(self.path)
                if split.path == "/favicon.ico":       # Chromium asks for it after each page
                    self.send_error(404)
                    return
                form = {}
                if self.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                    form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
                receiver.arrivals.put(Arrival(self.command, split.path, split.query,
                                              parse_qs(split.query, keep_blank_values=True), form))
                page = b"<!doctype html><title>Loopback</title><h1 id=received>The app received the redirect</h1>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def do_GET(self):  # noqa: N802 - http.server's naming
                self._record(b"")

            def do_POST(self):  # noqa: N802
                self._record(self.rfile.read(int(self.headers.get("content-length") or 0)))

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/callback") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def next(self, timeout: float = 15.0) -> Arrival:
        try:
            return self.arrivals.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"nothing arrived at the loopback redirect URI {self.url('')} within {timeout} s") from None

    def nothing_arrived(self) -> bool:
        return self.arrivals.empty()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
