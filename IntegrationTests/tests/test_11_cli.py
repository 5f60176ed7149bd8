"""The command line: config errors stop startup before anything is bound, routes test explains."""

import socket
import subprocess

from harness import clean_env, free_port, gatehouse_bin


def run(*args, cwd):
    return subprocess.run([str(gatehouse_bin()), *args], capture_output=True, text=True, cwd=cwd,
                          env=clean_env(), timeout=60, stdin=subprocess.DEVNULL)


def test_version(tmp_path):
    r = run("--version", cwd=tmp_path)
    assert r.returncode == 0
    assert r.stdout.strip().count(".") == 2


def test_routes_test_explains_the_decision(gatehouse):
    r = gatehouse.cli("routes", "test", "-c", str(gatehouse.config), "GET", "/_synapse/%6Das/query_user")
    assert r.returncode == 0, r.stderr
    assert "canonical: /_synapse/mas/query_user" in r.stdout
    assert "action:    deny 404" in r.stdout
    assert "matrix.routes:" in r.stdout
    r = gatehouse.cli("routes", "test", "-c", str(gatehouse.config), "PUT",
                      "/_matrix/client/v3/rooms/!r:localhost/state/m.room.name/login")
    assert "action:    proxy synapse" in r.stdout
    r = gatehouse.cli("routes", "test", "-c", str(gatehouse.config), "GET", "/_matrix/../_synapse/mas/x")
    assert "refused:   400" in r.stdout
    r = gatehouse.cli("routes", "test", "-c", str(gatehouse.config), "POST", "/health")
    assert "skipped:" in r.stdout and "winner:    none" in r.stdout


def test_bad_config_is_refused_with_key_paths_and_nothing_is_bound(gatehouse, tmp_path):
    port = free_port()
    bad = tmp_path / "bad.yaml"
    text = gatehouse.config.read_text()
    text = text.replace("public_base:", "public_bsae:", 1)
    text = text.replace(f"127.0.0.1:{gatehouse.port}", f"127.0.0.1:{port}")
    assert "max_body_bytes: 50MiB" in text
    bad.write_text(text.replace("max_body_bytes: 50MiB", "max_body_bytes: lots"))
    # Route file paths are relative to the config: copy the route table beside it.
    (tmp_path / "matrix.routes").write_text((gatehouse.dir / "matrix.routes").read_text())
    for command in (["config", "check", "-c", str(bad)], ["serve", "-c", str(bad)]):
        r = run(*command, cwd=tmp_path)
        assert r.returncode == 1, (command, r.stdout, r.stderr)
        assert "http.public_bsae: unknown key" in r.stderr
        assert "limits.max_body_bytes: 'lots' is not a size" in r.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # still free: serve stopped before binding


def test_bad_route_rule_names_file_and_line(gatehouse, tmp_path):
    cfg = tmp_path / "gatehouse.yaml"
    cfg.write_text(gatehouse.config.read_text())
    (tmp_path / "matrix.routes").write_text("GET ^/x$ local health\n*  ^/a(b  proxy synapse\n")
    r = run("config", "check", "-c", str(cfg), cwd=tmp_path)
    assert r.returncode == 1
    assert "matrix.routes:2: bad pattern '^/a(b'" in r.stderr
