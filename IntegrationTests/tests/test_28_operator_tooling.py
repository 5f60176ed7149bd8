"""Operator tooling against the real Synapse: `gatehouse doctor` passes on the integration setup and
names each fault (wrong secret, integration off in Synapse, Synapse down, login routed to Synapse,
issuer mismatch); `gatehouse synapse migrate-config` turns an MSC3861 homeserver.yaml into one that
Synapse 1.163.2's own loader accepts and that delegates to Gatehouse end to end."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import yaml

import harness
from harness import SERVER_NAME, Synapse, free_port, stop_process, wait_until


def doctor(gatehouse, config: Path, *extra: str) -> tuple[int, dict[str, dict]]:
    """Runs `gatehouse doctor --json`; returns the exit code and the checks by name."""
    r = gatehouse.cli("doctor", "-c", str(config), "--json", *extra, timeout=120)
    assert r.stdout.strip(), r.stderr
    report = json.loads(r.stdout)
    assert report["passed"] == (r.returncode == 0), r.stdout
    return r.returncode, {c["name"]: c for c in report["checks"]}


def config_variant(gatehouse, name: str, change) -> Path:
    """A copy of the instance's configuration beside it (route paths are relative), changed."""
    cfg = yaml.safe_load(gatehouse.config.read_text())
    change(cfg)
    path = gatehouse.dir / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def synapse_python() -> Path:
    cache = Path(os.environ.get("SYNAPSE_CACHE_DIR", Path.home() / ".cache" / "gatehouse-synapse"))
    return cache / f"venv-{os.environ.get('SYNAPSE_VERSION', '1.163.2')}" / "bin" / "python"


# --------------------------------------------------------------------------- doctor
def test_doctor_passes_on_the_integration_setup(gatehouse, synapse):
    rc, checks = doctor(gatehouse, gatehouse.config, "--ca-file", str(gatehouse.dir / "tls" / "cert.pem"))
    assert rc == 0, json.dumps(checks, indent=1)
    assert list(checks) == ["config", "issuer_https", "public_tls", "synapse_version", "synapse_secret",
                            "introspection", "login_route", "issuer_match"]
    for name, check in checks.items():
        assert check["status"] in ("ok", "warn"), (name, check)
    assert checks["public_tls"]["status"] == "ok", checks["public_tls"]
    assert "expires" in checks["public_tls"]["detail"]
    assert checks["synapse_version"]["detail"].startswith("Synapse 1.163.2")
    assert checks["synapse_secret"]["status"] == "ok"
    assert checks["introspection"]["status"] == "ok"
    assert checks["login_route"]["detail"].startswith("answered by Gatehouse")
    assert checks["issuer_match"]["detail"] == f"issuer https://{SERVER_NAME}:{gatehouse.port}/"


def test_doctor_warns_about_the_self_signed_certificate_without_a_ca_file(gatehouse, synapse):
    rc, checks = doctor(gatehouse, gatehouse.config)
    assert rc == 0
    assert checks["public_tls"]["status"] == "warn"
    assert checks["public_tls"]["detail"].startswith("self-signed certificate")
    assert "--ca-file" in checks["public_tls"]["fix"]


def test_doctor_names_a_wrong_secret(gatehouse, synapse, tmp_path):
    wrong = harness.new_secret_file(gatehouse.dir / "doctor_wrong_secret")
    config = config_variant(gatehouse, "doctor-wrong-secret", lambda c: c["matrix"].update(secret_path=str(wrong)))
    rc, checks = doctor(gatehouse, config)
    assert rc == 1
    assert checks["synapse_secret"]["status"] == "fail"
    assert checks["synapse_secret"]["detail"].startswith("wrong secret: Synapse refused it (HTTP 403 M_UNKNOWN")
    assert "matrix_authentication_service.secret" in checks["synapse_secret"]["fix"]
    assert checks["issuer_match"]["status"] == "ok"


def test_doctor_names_synapse_down(gatehouse, synapse):
    down = f"http://127.0.0.1:{free_port()}/"
    config = config_variant(gatehouse, "doctor-synapse-down", lambda c: c["matrix"].update(endpoint=down))
    rc, checks = doctor(gatehouse, config)
    assert rc == 1
    assert checks["synapse_version"]["status"] == "fail"
    assert checks["synapse_version"]["detail"] == f"Synapse does not answer at {down}: connection refused"
    assert checks["synapse_secret"]["status"] == checks["issuer_match"]["status"] == "skip"


def test_doctor_names_the_integration_off_in_synapse(gatehouse, synapse, secret_file, workdir):
    extra = workdir / "synapse-no-mas.yaml"
    extra.write_text("matrix_authentication_service:\n  enabled: false\npresence:\n  enabled: false\n")
    plain = Synapse(workdir / "synapse-no-mas", free_port(), gatehouse.internal_url + "/", secret_file,
                    gatehouse.base_url + "/", extra)
    plain.start()
    try:
        config = config_variant(gatehouse, "doctor-integration-off",
                                lambda c: c["matrix"].update(endpoint=plain.url + "/"))
        rc, checks = doctor(gatehouse, config)
        assert rc == 1
        assert checks["synapse_version"]["status"] == "ok"
        assert checks["synapse_secret"]["status"] == "fail"
        assert checks["synapse_secret"]["detail"].startswith("the integration is off in Synapse")
        assert "matrix_authentication_service: {enabled: true" in checks["synapse_secret"]["fix"]
        assert checks["issuer_match"]["status"] == "fail"
    finally:
        plain.stop()


def test_doctor_names_login_routed_to_synapse(gatehouse_factory, gatehouse):
    g = gatehouse_factory("login-to-synapse")
    routes = g.dir / "matrix.routes"
    routes.write_text("# test: the legacy login layer sent to Synapse by mistake\n"
                      "*  ^/_matrix/client/(api/v1|r0|v3|unstable)/login/?$  proxy synapse\n" + routes.read_text())
    g.start()
    rc, checks = doctor(g, g.config)
    assert rc == 1
    assert checks["login_route"]["status"] == "fail"
    assert checks["login_route"]["detail"].startswith("answered by Synapse (Synapse/1.163.2, HTTP 404 M_UNRECOGNIZED")
    assert "local matrix-compat" in checks["login_route"]["fix"]


def test_doctor_names_an_issuer_mismatch(gatehouse_factory, gatehouse):
    # A second Gatehouse in front of the same Synapse: Synapse delegates to the shared instance, so it
    # advertises that one's issuer, not this one's.
    g = gatehouse_factory("other-issuer")
    g.start()
    rc, checks = doctor(g, g.config)
    assert rc == 1
    assert checks["issuer_match"]["status"] == "fail"
    assert checks["issuer_match"]["detail"] == (
        f'issuer mismatch: Synapse advertises "https://{SERVER_NAME}:{gatehouse.port}/", '
        f'Gatehouse\'s is "https://{SERVER_NAME}:{g.port}/" (http.public_base)')
    assert checks["login_route"]["status"] == "ok"
    assert checks["synapse_secret"]["status"] == "ok"


def test_doctor_reports_an_invalid_configuration(gatehouse, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(gatehouse.config.read_text().replace("public_base:", "public_bsae:", 1))
    r = gatehouse.cli("doctor", "-c", str(bad))
    assert r.returncode == 1
    assert "[FAIL] the configuration is valid (config)" in r.stdout
    assert "http.public_bsae: unknown key" in r.stdout


# --------------------------------------------------------------------------- migrate-config
MSC3861_HOMESERVER = """\
# Synapse for the migrate-config test, written the way MAS's docs had admins write MSC3861 setups.
server_name: "{server_name}"
public_baseurl: "{public}"
listeners:
  - port: {port}
    bind_addresses: ['127.0.0.1']
    type: http
    tls: false
    x_forwarded: true
    resources:
      - names: [client, federation]
        compress: false
database:
  name: sqlite3
  args:
    database: "{wd}/homeserver.db"
media_store_path: "{wd}/media_store"
signing_key_path: "{wd}/{server_name}.signing.key"
report_stats: false
trusted_key_servers: []
suppress_key_server_warning: true
federation_domain_whitelist: []
ip_range_blacklist: ['0.0.0.0/0', '::/0']
ip_range_whitelist: ['127.0.0.0/8', '::1/128']
enable_registration: false
password_config:
  enabled: false

# Features still in testing
experimental_features:
  # Room summaries (MSC3266)
  msc3266_enabled: true

  # Delegate authentication to the OAuth 2.0 provider (MSC3861)
  msc3861:
    enabled: true
    issuer: "{public}"
    client_id: 0000000000000000000SYNAPSE
    client_auth_method: client_secret_basic
    client_secret: "a-client-secret-for-synapse"
    admin_token: "{secret}"
    account_management_url: "{public}account/"

presence:
  enabled: false   # nothing else to do here
"""


def load_with_synapse(path: Path) -> subprocess.CompletedProcess:
    """Synapse's own config loader (the one `synapse.app.homeserver` uses)."""
    code = ("import sys\n"
            "from synapse.config._base import ConfigError\n"
            "from synapse.config.homeserver import HomeServerConfig\n"
            "try:\n"
            "    c = HomeServerConfig.load_config('synapse', ['-c', sys.argv[1]])\n"
            "except ConfigError as e:\n"
            "    print('ConfigError:', e.msg); sys.exit(1)\n"
            "print(c.mas.enabled, str(c.mas.endpoint))\n")
    return subprocess.run([str(synapse_python()), "-c", code, str(path)], capture_output=True, text=True,
                          env=harness.clean_env(), timeout=120, stdin=subprocess.DEVNULL)


def test_migrate_config_yields_a_config_synapse_loads_and_that_delegates_to_gatehouse(gatehouse, synapse, secret, workdir):
    assert synapse_python().exists(), f"Synapse's venv is missing: {synapse_python()}"
    wd = workdir / "synapse-migrated"
    wd.mkdir()
    port = free_port()
    homeserver = wd / "homeserver.yaml"
    original = MSC3861_HOMESERVER.format(server_name=SERVER_NAME, public=gatehouse.base_url + "/", port=port,
                                         wd=wd, secret=secret)
    homeserver.write_text(original)
    homeserver.chmod(0o600)
    endpoint = gatehouse.internal_url + "/"

    # Without --write: the diff, the matching Gatehouse side, and nothing changed.
    r = gatehouse.cli("synapse", "migrate-config", str(homeserver), "--endpoint", endpoint)
    assert r.returncode == 0, r.stderr
    assert "-  msc3861:" in r.stdout and "+matrix_authentication_service:" in r.stdout
    assert secret not in r.stdout, "the diff masks the secret"
    assert "Nothing written" in r.stdout
    assert "client_id: \"0000000000000000000SYNAPSE\"" in r.stdout
    assert f'homeserver: "{SERVER_NAME}"' in r.stdout and f'endpoint: "http://127.0.0.1:{port}/"' in r.stdout
    assert homeserver.read_text() == original

    r = gatehouse.cli("synapse", "migrate-config", str(homeserver), "--endpoint", endpoint, "--write")
    assert r.returncode == 0, r.stderr
    backups = list(wd.glob("homeserver.yaml.bak-*"))
    assert len(backups) == 1 and backups[0].read_text() == original
    assert (homeserver.stat().st_mode & 0o777) == 0o600, "the file keeps its mode"
    migrated = homeserver.read_text()
    assert "msc3861" not in migrated.replace("migrated from experimental_features.msc3861", "")
    assert "# Room summaries (MSC3266)" in migrated and "presence:\n  enabled: false   # nothing else to do here" in migrated

    # A second run refuses: the file has been migrated.
    again = gatehouse.cli("synapse", "migrate-config", str(homeserver))
    assert again.returncode == 1 and "no experimental_features.msc3861" in again.stderr

    # Synapse's own loader: the old file is refused, the migrated one accepted as delegating to Gatehouse.
    keys = subprocess.run([str(synapse_python()), "-m", "synapse.app.homeserver", "-c", str(homeserver), "--generate-keys"],
                          capture_output=True, text=True, env=harness.clean_env(), timeout=120, stdin=subprocess.DEVNULL)
    assert keys.returncode == 0, keys.stdout + keys.stderr
    old = load_with_synapse(backups[0])
    assert old.returncode == 1 and "experimental_features.msc3861 was removed" in old.stdout, old.stdout + old.stderr
    new = load_with_synapse(homeserver)
    assert new.returncode == 0, new.stdout + new.stderr
    assert new.stdout.split() == ["True", endpoint]

    # End to end: a Synapse running on the migrated file asks Gatehouse about tokens and advertises its issuer.
    log = wd / "stdout.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen([str(synapse_python()), "-m", "synapse.app.homeserver", "-c", str(homeserver)],
                                stdout=out, stderr=subprocess.STDOUT, env=harness.clean_env(), cwd=wd,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    harness.LOGS["migrated synapse"] = log
    url = f"http://127.0.0.1:{port}"
    try:
        def healthy():
            if proc.poll() is not None:
                raise RuntimeError(f"Synapse exited with {proc.returncode}:\n{harness.tail(log)}")
            return httpx.get(url + "/health", timeout=2, trust_env=False).text == "OK"
        wait_until(healthy, 120, "Synapse on the migrated configuration")
        r = httpx.get(url + "/_matrix/client/v3/account/whoami", headers={"Authorization": "Bearer not-a-real-token"},
                      timeout=30, trust_env=False)
        assert r.status_code == 401 and r.json()["errcode"] == "M_UNKNOWN_TOKEN", r.text
        r = httpx.get(url + "/_matrix/client/v1/auth_metadata", timeout=30, trust_env=False)
        assert r.status_code == 200 and r.json()["issuer"] == gatehouse.base_url + "/", r.text
        # And doctor agrees, with this Synapse as matrix.endpoint.
        config = config_variant(gatehouse, "doctor-migrated", lambda c: c["matrix"].update(endpoint=url + "/"))
        rc, checks = doctor(gatehouse, config)
        assert checks["synapse_secret"]["status"] == "ok" and checks["issuer_match"]["status"] == "ok", checks
    finally:
        stop_process(proc, 30)


# --------------------------------------------------------------------------- config generate --synapse-config
def test_config_generate_takes_synapse_settings(gatehouse, tmp_path):
    homeserver = tmp_path / "homeserver.yaml"
    homeserver.write_text(
        'server_name: "example.org"\n'
        'public_baseurl: "https://matrix.example.org/"\n'
        "listeners:\n"
        "  - port: 8448\n    type: http\n    resources: [{names: [federation]}]\n"
        "  - port: 8008\n    type: http\n    bind_addresses: ['0.0.0.0']\n    resources: [{names: [client]}]\n"
        "bcrypt_rounds: 11\n"
        "password_config:\n  pepper: \"a-pepper-from-synapse\"\n"
        "enable_registration: true\n"
        "enable_registration_captcha: true\n")
    out = tmp_path / "gh" / "gatehouse.yaml"
    r = gatehouse.cli("config", "generate", "--output", str(out), "--synapse-config", str(homeserver))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "matrix_authentication_service:\n  enabled: true\n  endpoint: \"http://127.0.0.1:8081/\"" in r.stdout
    assert f'secret_path: "{tmp_path}/gh/synapse_secret"' in r.stdout
    assert "enable_registration_captcha" in r.stdout, "settings not carried over are named"
    cfg = yaml.safe_load(out.read_text())
    assert cfg["http"]["public_base"] == "https://matrix.example.org/"
    assert cfg["matrix"]["homeserver"] == "example.org"
    assert cfg["matrix"]["endpoint"] == "http://127.0.0.1:8008/"
    assert cfg["passwords"]["schemes"] == [
        {"version": 1, "algorithm": "bcrypt", "cost": 11, "unicode_normalization": True,
         "secret_file": f"{tmp_path}/gh/synapse_pepper"},
        {"version": 2, "algorithm": "argon2id"}]
    assert cfg["account"]["password_registration_enabled"] is True
    pepper = tmp_path / "gh" / "synapse_pepper"
    assert pepper.read_text().strip() == "a-pepper-from-synapse" and (pepper.stat().st_mode & 0o777) == 0o600
    check = gatehouse.cli("config", "check", "-c", str(out))
    assert check.returncode == 0, check.stderr
