"""The deploy files say what the design says: a free web service that runs web and worker, a
free Postgres, no secret in the file."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def blueprint() -> dict:
    return yaml.safe_load((ROOT / "render.yaml").read_text())


def env_vars(service: dict) -> dict[str, dict]:
    return {item["key"]: item for item in service["envVars"]}


def test_the_blueprint_has_one_free_web_service_started_by_the_start_script():
    [service] = blueprint()["services"]

    assert (service["type"], service["plan"], service["runtime"]) == ("web", "free", "python")
    assert service["startCommand"] == "bin/start"
    assert service["healthCheckPath"] == "/api/health/"
    for step in ("pip install --require-hashes -r requirements.txt", "collectstatic", "migrate"):
        assert step in service["buildCommand"]


def test_secrets_are_generated_or_asked_for_never_written_down():
    variables = env_vars(blueprint()["services"][0])

    assert variables["SECRET_KEY"] == {"key": "SECRET_KEY", "generateValue": True}
    assert variables["DATABASE_URL"]["fromDatabase"]["name"] == "primepre-db"
    for name in ("CORS_ALLOWED_ORIGINS", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        assert variables[name]["sync"] is False
    assert variables["PYTHON_VERSION"]["value"].startswith("3.11")
    assert variables["DEBUG"]["value"] == "0"


def test_the_blueprint_has_a_free_postgres_database():
    [database] = blueprint()["databases"]

    assert (database["name"], database["plan"]) == ("primepre-db", "free")


def test_the_procfile_names_a_web_and_a_worker_process():
    lines = dict(
        line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )

    assert "gunicorn_config.py" in lines["web"]
    assert lines["worker"] == "python manage.py run_worker"


def test_the_local_compose_file_serves_postgres_and_redis_where_the_defaults_look():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())

    services = compose["services"]
    assert set(services) == {"postgres", "redis"}
    assert services["postgres"]["image"].startswith("postgres:")
    # Trusting every connection is safe only on this machine's loopback address.
    assert services["postgres"]["environment"]["POSTGRES_HOST_AUTH_METHOD"] == "trust"
    assert services["postgres"]["ports"] == ["127.0.0.1:5432:5432"]
    assert services["redis"]["ports"] == ["127.0.0.1:6379:6379"]
