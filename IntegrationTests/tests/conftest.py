"""Session fixtures: a temp dir, a real Synapse that delegates auth to Gatehouse (its
matrix_authentication_service endpoint is Gatehouse's internal listener), the streaming `bulk`
upstream and one Gatehouse in front of them, with user alice created and given a token on device
DEV1 through `gatehouse manage`. Everything is stopped at the end; the temp dir is kept when a test failed or
GATEHOUSE_IT_KEEP=1. On failure, the tails of all logs are attached to the report."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

import harness
from browser import Browser, LoopbackReceiver, remove_screenshots
from harness import (ALICE_DEVICE, ALICE_PASSWORD, BulkUpstream, Gatehouse, Synapse,
                     free_port, http_client)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)    # read by the browser fixtures' teardown
    if rep.failed:
        for name, path in harness.LOGS.items():
            rep.sections.append((f"tail of {name} ({path})", harness.tail(path, 30)))


@pytest.fixture(scope="session")
def workdir(request):
    d = Path(tempfile.mkdtemp(prefix="gatehouse-it-"))
    yield d
    if request.session.testsfailed or os.environ.get("GATEHOUSE_IT_KEEP") == "1":
        print(f"\nintegration test files kept in {d}")
    else:
        harness.remove_tree(d)


@pytest.fixture(scope="session")
def secret_file(workdir):
    """The Synapse <-> auth service shared secret (stand-in, Synapse and Gatehouse)."""
    return harness.new_secret_file(workdir / "synapse_secret")


@pytest.fixture(scope="session")
def gatehouse_port():
    """Chosen before Synapse starts: Synapse's public_baseurl is Gatehouse's URL."""
    return free_port()


@pytest.fixture(scope="session")
def gatehouse_internal_port():
    """Gatehouse's plain loopback listener: Synapse's matrix_authentication_service endpoint."""
    return free_port()


@pytest.fixture(scope="session")
def synapse(workdir, secret_file, gatehouse_port, gatehouse_internal_port):
    extra = workdir / "synapse-extra.yaml"
    # No presence: nothing may wake the long-poll /sync test early.
    extra.write_text("presence:\n  enabled: false\n")
    s = Synapse(workdir / "synapse", free_port(), f"http://127.0.0.1:{gatehouse_internal_port}/", secret_file,
                f"https://{harness.SERVER_NAME}:{gatehouse_port}/", extra)
    s.start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="session")
def bulk(workdir):
    b = BulkUpstream(workdir, free_port())
    yield b
    b.stop()


# Every test connects from 127.0.0.1, so the shared instance cannot keep MAS's default login limits
# (3 attempts per address, then one every 20 s) or the default of 10 client registrations per address
# and hour. Instances from gatehouse_factory keep the defaults.
RELAXED_LOGIN_LIMITS = {"rate_limiting": {
    "login": {
        "per_ip": {"burst": 10000, "per_second": 1000},
        "per_account": {"burst": 10000, "per_second": 1000},
    },
    "client_registration": {"burst": 10000, "per_second": 1000},
}}


# What the browser tests need of the shared instance beyond `config generate`'s secrets: the
# registration page for prompt=create, and device authorizations from 127.0.0.1 beyond the default
# 10. Applied only when the binary knows the keys (the configuration loader refuses unknown keys;
# see Gatehouse.optional_config_applied).
BROWSER_FLOWS = {
    "account": {"password_registration_enabled": True},
    "rate_limiting": {"device_authorization": {"burst": 10000, "per_second": 1000}},
}


def _new_gatehouse(name, workdir, synapse, secret_file, bulk, port=None, internal_port=None, extra_config=None,
                   optional_config=None):
    return Gatehouse(name, workdir / f"gatehouse-{name}", synapse_url=synapse.url,
                     secret_file=secret_file, bulk_url=bulk.url, port=port, internal_port=internal_port,
                     extra_config=extra_config, optional_config=optional_config)


@pytest.fixture(scope="session")
def gatehouse(workdir, synapse, secret_file, bulk, gatehouse_port, gatehouse_internal_port):
    """The shared Gatehouse instance (public TLS listener on gatehouse_port), the one Synapse
    delegates auth to, with relaxed login rate limits and password registration (when the binary
    has it); alice exists and `g.alice_token` is her token on DEV1."""
    g = _new_gatehouse("main", workdir, synapse, secret_file, bulk, gatehouse_port, gatehouse_internal_port,
                       RELAXED_LOGIN_LIMITS, BROWSER_FLOWS)
    g.manage("register-user", "alice", "--password", ALICE_PASSWORD, "--display-name", "Alice")
    g.alice_token = g.issue_token("alice", ALICE_DEVICE)
    g.start()
    yield g
    g.stop()


@pytest.fixture
def gatehouse_factory(workdir, synapse, secret_file, bulk):
    """Extra, independent Gatehouse instances (e.g. to shut one down), with the default login rate
    limits; stopped afterwards. Their `manage` provisions into the same Synapse as the shared one,
    so use usernames of their own."""
    made = []

    def make(name):
        g = _new_gatehouse(name, workdir, synapse, secret_file, bulk)
        made.append(g)
        return g

    yield make
    for g in made:
        g.stop()


@pytest.fixture
def h1(gatehouse):
    with http_client(gatehouse.base_url, http2=False) as c:
        yield c


@pytest.fixture
def h2(gatehouse):
    with http_client(gatehouse.base_url, http2=True) as c:
        yield c


@pytest.fixture(params=["h1", "h2"])
def client(request, gatehouse):
    """Runs a test once over HTTP/1.1 and once over h2."""
    with http_client(gatehouse.base_url, http2=request.param == "h2") as c:
        c.expected_version = "HTTP/2" if request.param == "h2" else "HTTP/1.1"
        yield c


@pytest.fixture
def alice(gatehouse):
    return {"Authorization": f"Bearer {gatehouse.alice_token}"}


@pytest.fixture(scope="session")
def secret(secret_file):
    return secret_file.read_text().strip()


# --------------------------------------------------------------------------- browser tests
def _failed(request) -> bool:
    return any(getattr(request.node, f"rep_{when}", None) is not None and getattr(request.node, f"rep_{when}").failed
               for when in ("setup", "call"))


@pytest.fixture
def browser_factory(request):
    """Headless Chromium sessions (each with its own profile and cookies) for one test; every page is
    screenshotted into artifacts/screenshots/<test>[-label]-NN-<step>.png, and on failure the last page
    of each as -FAILED.png/.html."""
    remove_screenshots(request.node.name)
    made: list[Browser] = []

    def make(label: str = "") -> Browser:
        b = Browser(request.node.name, label)
        made.append(b)
        return b

    yield make
    for b in made:
        if _failed(request):
            b.save_failure()
        b.quit()


@pytest.fixture
def browser(browser_factory):
    return browser_factory()


@pytest.fixture
def loopback():
    """A native app's loopback redirect URI (http://127.0.0.1:PORT/...) that records what arrives."""
    r = LoopbackReceiver()
    yield r
    r.stop()
