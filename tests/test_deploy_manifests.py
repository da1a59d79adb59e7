"""Deployment files: Kubernetes manifests, compose file, Dockerfile and gunicorn config.

The manifests are checked for the invariants that keep the service healthy in production
(probes on the right paths, non-root, resources, matching selectors, timeouts that nest), and
against the Kubernetes API schemas with kubernetes-validate when it is installed. The gunicorn
config is loaded, and run, in subprocesses with a controlled environment.
"""

from __future__ import annotations

import contextlib
import fnmatch
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
GUNICORN_CONF = DEPLOY / "gunicorn.conf.py"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"

# The service's request limits and their documented defaults.
SERVICE_LIMITS: dict[str, float] = {
    "SHAPECHECK_MAX_BODY_BYTES": 8 * 2**20,
    "SHAPECHECK_MAX_LAYERS": 5000,
    "SHAPECHECK_MAX_RANK": 8,
    "SHAPECHECK_MAX_JSON_DEPTH": 64,
    "SHAPECHECK_FORWARD_MAX_BYTES": 512 * 2**20,
    "SHAPECHECK_FORWARD_MAX_MACS": 2e10,
    "SHAPECHECK_FORWARD_MAX_VALUES": 1e9,
    "SHAPECHECK_FORWARD_TIMEOUT_S": 20,
    "SHAPECHECK_RATE_LIMIT": 0,
    "SHAPECHECK_RATE_BURST": 0,
}
# Read by deploy/gunicorn.conf.py.
SERVER_ENV = {
    "HOST",
    "PORT",
    "GUNICORN_BIND",
    "WEB_CONCURRENCY",
    "GUNICORN_THREADS",
    "GUNICORN_TIMEOUT",
    "GUNICORN_GRACEFUL_TIMEOUT",
    "GUNICORN_KEEPALIVE",
    "GUNICORN_MAX_REQUESTS",
    "GUNICORN_MAX_REQUESTS_JITTER",
    "GUNICORN_ACCESSLOG",
    "GUNICORN_LOGLEVEL",
    "GUNICORN_CONTROL_SOCKET",
    "FORWARDED_ALLOW_IPS",
}
DOCUMENTED_ENV = SERVER_ENV | set(SERVICE_LIMITS) | {"SHAPECHECK_API_KEYS"}
BLAS_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
APP_LABELS = {"app.kubernetes.io/name": "shapecheck", "app.kubernetes.io/component": "api"}


# --- Loading -------------------------------------------------------------------------------


def load_documents(path: Path) -> list[dict[str, Any]]:
    with path.open() as f:
        return [doc for doc in yaml.safe_load_all(f) if doc is not None]


def yaml_files() -> list[Path]:
    return sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")])


def manifest_files() -> list[Path]:
    """The Kubernetes resources (the Kustomization is kustomize's, not the API server's)."""
    return [p for p in sorted(K8S.glob("*.yaml")) if p.name != "kustomization.yaml"]


@pytest.fixture(scope="module")
def resources() -> dict[str, dict[str, Any]]:
    """Kind -> resource, for the single resource of each kind in deploy/k8s."""
    by_kind: dict[str, dict[str, Any]] = {}
    for path in manifest_files():
        for doc in load_documents(path):
            assert doc["kind"] not in by_kind, f"two {doc['kind']} resources"
            by_kind[doc["kind"]] = doc
    return by_kind


@pytest.fixture(scope="module")
def deployment(resources) -> dict[str, Any]:
    return resources["Deployment"]


@pytest.fixture(scope="module")
def container(deployment) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


@pytest.fixture(scope="module")
def config(resources) -> dict[str, str]:
    return resources["ConfigMap"]["data"]


def cpu_cores(quantity: str | int | float) -> float:
    text = str(quantity)
    return int(text[:-1]) / 1000 if text.endswith("m") else float(text)


def memory_bytes(quantity: str | int) -> int:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9}
    match = re.fullmatch(r"(\d+)([A-Za-z]*)", str(quantity))
    assert match, f"unreadable memory quantity {quantity!r}"
    return int(match[1]) * units.get(match[2], 1)


# --- Every file ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_yaml_file_parses_to_mappings(path: Path) -> None:
    docs = load_documents(path)
    assert docs, f"{path} is empty"
    assert all(isinstance(doc, dict) for doc in docs)


def test_the_expected_manifests_exist(resources) -> None:
    assert set(resources) == {
        "ConfigMap",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
    }


def test_kustomization_lists_exactly_the_manifests() -> None:
    (kustomization,) = load_documents(K8S / "kustomization.yaml")
    assert kustomization["kind"] == "Kustomization"
    listed = kustomization["resources"]
    assert len(listed) == len(set(listed)), "a resource is listed twice"
    assert set(listed) == {p.name for p in manifest_files()}


# --- Kubernetes invariants -----------------------------------------------------------------


def test_labels_and_selectors_agree(resources, deployment) -> None:
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector == APP_LABELS
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= pod_labels.items(), "the Deployment would not select its pods"
    assert resources["Service"]["spec"]["selector"] == selector
    assert resources["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == selector
    for constraint in deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]:
        assert constraint["labelSelector"]["matchLabels"] == selector
    for resource in resources.values():
        assert APP_LABELS.items() <= resource["metadata"]["labels"].items()


def test_probes_use_the_health_endpoints_on_the_served_port(container) -> None:
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"http": 8000}
    expected = {"readinessProbe": "/readyz", "livenessProbe": "/livez", "startupProbe": "/livez"}
    for probe_name, path in expected.items():
        probe = container[probe_name]["httpGet"]
        assert probe["path"] == path, probe_name
        assert probe["port"] in ("http", 8000), probe_name


def test_liveness_outlasts_a_slow_forward_pass(container, config) -> None:
    # With sync workers all busy on forward passes, /livez waits; the pod must not be killed.
    probe = container["livenessProbe"]
    tolerance = probe["periodSeconds"] * probe["failureThreshold"]
    assert tolerance > float(config["SHAPECHECK_FORWARD_TIMEOUT_S"])
    assert tolerance > int(config["GUNICORN_TIMEOUT"])


def test_timeouts_nest(deployment, config) -> None:
    # The service answers a slow forward pass with its own 503 before gunicorn kills the worker,
    # and Kubernetes waits for gunicorn's graceful shutdown before SIGKILL.
    assert float(config["SHAPECHECK_FORWARD_TIMEOUT_S"]) < int(config["GUNICORN_TIMEOUT"])
    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > int(config["GUNICORN_GRACEFUL_TIMEOUT"])


def test_pod_runs_as_the_images_non_root_user(deployment, container) -> None:
    pod_security = deployment["spec"]["template"]["spec"]["securityContext"]
    assert pod_security["runAsNonRoot"] is True
    assert pod_security["runAsUser"] != 0
    assert f"{pod_security['runAsUser']}:{pod_security['runAsGroup']}" == dockerfile_user()
    security = container["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert deployment["spec"]["template"]["spec"]["automountServiceAccountToken"] is False


def test_read_only_root_has_a_writable_tmp(deployment, container) -> None:
    # gunicorn.conf.py creates the Prometheus multiprocess directory under $TMPDIR (/tmp).
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert set(mounts.values()) <= set(volumes), "a mount names an undeclared volume"
    assert "/tmp" in mounts
    assert "emptyDir" in volumes[mounts["/tmp"]]


def test_resources_requested_and_limited(container, config) -> None:
    requests, limits = container["resources"]["requests"], container["resources"]["limits"]
    assert set(requests) == set(limits) == {"cpu", "memory"}
    assert cpu_cores(requests["cpu"]) <= cpu_cores(limits["cpu"])
    assert memory_bytes(requests["memory"]) <= memory_bytes(limits["memory"])
    # Every worker may hold one forward pass at its byte limit.
    workers = int(config["WEB_CONCURRENCY"]) * int(config["GUNICORN_THREADS"])
    forward = int(config["SHAPECHECK_FORWARD_MAX_BYTES"])
    assert memory_bytes(limits["memory"]) > workers * forward


def test_container_takes_its_environment_from_the_configmap(resources, container) -> None:
    refs = [source["configMapRef"]["name"] for source in container["envFrom"]]
    assert refs == [resources["ConfigMap"]["metadata"]["name"]]
    # API keys are secret: from an optional Secret, never from the ConfigMap.
    (api_keys,) = [env for env in container["env"] if env["name"] == "SHAPECHECK_API_KEYS"]
    assert api_keys["valueFrom"]["secretKeyRef"]["optional"] is True


def test_configmap_keys_are_the_documented_env_vars(config) -> None:
    assert set(config) <= DOCUMENTED_ENV - {"SHAPECHECK_API_KEYS"}
    assert set(SERVICE_LIMITS) <= set(config), "every limit is spelled out"
    for key, value in config.items():
        assert isinstance(value, str), f"{key}: ConfigMap values must be strings"
    for key, default in SERVICE_LIMITS.items():
        # Written as plain integers, which both int() and float() parse.
        assert int(config[key]) == default, key
    assert config["HOST"] == "0.0.0.0"
    assert int(config["PORT"]) == 8000


def test_gunicorn_config_reads_every_server_variable() -> None:
    source = GUNICORN_CONF.read_text()
    for name in SERVER_ENV:
        assert f'"{name}"' in source or f"'{name}'" in source, name


def test_service_routes_to_the_container_port(resources, container) -> None:
    (port,) = resources["Service"]["spec"]["ports"]
    assert port["targetPort"] in {p["name"] for p in container["ports"]}


def test_hpa_scales_the_deployment_on_cpu(resources, deployment) -> None:
    hpa = resources["HorizontalPodAutoscaler"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": deployment["metadata"]["name"],
    }
    assert 2 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert 0 < metric["resource"]["target"]["averageUtilization"] < 100
    # A replica count in the Deployment would reset the HPA's on every apply.
    assert "replicas" not in deployment["spec"]


def test_pdb_leaves_a_pod_serving_during_drains(resources) -> None:
    pdb = resources["PodDisruptionBudget"]
    assert pdb["apiVersion"] == "policy/v1"
    min_replicas = resources["HorizontalPodAutoscaler"]["spec"]["minReplicas"]
    if "maxUnavailable" in pdb["spec"]:
        assert pdb["spec"]["maxUnavailable"] < min_replicas
    else:
        assert 0 < pdb["spec"]["minAvailable"] < min_replicas


def test_rollouts_keep_capacity(deployment) -> None:
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


# --- kubernetes-validate (offline, against the bundled API schemas) -------------------------


def _kubernetes_validate(paths: list[Path], version: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "--strict", "-k", version]
        + [str(p) for p in paths],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _kubernetes_versions() -> list[str]:
    """The oldest Kubernetes the manifests support, and the newest the package knows."""
    try:
        from kubernetes_validate import utils
    except ImportError:
        return ["latest"]
    known = {utils.major_minor(v) for v in utils.all_versions()}
    return [v for v in ("1.27.0", utils.latest_version()) if utils.major_minor(v) in known]


@pytest.mark.parametrize("version", _kubernetes_versions())
def test_manifests_pass_kubernetes_validate_strict(version: str) -> None:
    pytest.importorskip("kubernetes_validate")
    result = _kubernetes_validate(manifest_files(), version)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # WARN means "no schema for this kind": the resource was not validated at all.
    assert "WARN" not in output and "ERROR" not in output, output
    assert output.count("passed") == len(manifest_files()), output


def test_kubernetes_validate_strict_rejects_an_unknown_field(tmp_path: Path) -> None:
    # Guards against the test above passing vacuously.
    pytest.importorskip("kubernetes_validate")
    (deployment,) = load_documents(K8S / "deployment.yaml")
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    broken = tmp_path / "deployment.yaml"
    broken.write_text(yaml.safe_dump(deployment))
    result = _kubernetes_validate([broken], _kubernetes_versions()[-1])
    assert result.returncode != 0
    assert "livenessProbes" in result.stdout


def test_kustomize_renders_all_resources() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    result = subprocess.run(
        [kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=60
    )
    if result.returncode != 0 and "unknown command" in result.stderr:
        pytest.skip("this kubectl has no kustomize")
    assert result.returncode == 0, result.stderr
    kinds = sorted(doc["kind"] for doc in yaml.safe_load_all(result.stdout) if doc)
    assert kinds == sorted(
        ["ConfigMap", "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Service"]
    )


# --- Compose -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose_service() -> dict[str, Any]:
    (compose,) = load_documents(COMPOSE)
    (service,) = compose["services"].values()
    return service


def test_compose_builds_the_dockerfile_from_the_repo_root(compose_service) -> None:
    build = compose_service["build"]
    context = (COMPOSE.parent / build["context"]).resolve()
    assert context == REPO
    assert (context / build["dockerfile"]).resolve() == DOCKERFILE


def test_compose_publishes_port_8000(compose_service) -> None:
    assert any(str(port).endswith(":8000") for port in compose_service["ports"])


def test_compose_environment_matches_the_configmap(compose_service, config) -> None:
    env = compose_service["environment"]
    assert set(env) <= DOCUMENTED_ENV
    for key in SERVICE_LIMITS:
        assert env[key] == config[key], key
    assert env["HOST"] == "0.0.0.0"
    # Unset unless the shell sets it: an empty value must not reach the service.
    assert env["SHAPECHECK_API_KEYS"] is None
    assert float(env["SHAPECHECK_FORWARD_TIMEOUT_S"]) < int(env["GUNICORN_TIMEOUT"])


def test_compose_container_is_read_only_with_a_tmpfs(compose_service) -> None:
    assert compose_service["read_only"] is True
    assert "/tmp" in compose_service["tmpfs"]


# --- Dockerfile ----------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    logical, pending = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    pairs = []
    for line in logical:
        instruction, _, args = line.strip().partition(" ")
        pairs.append((instruction.upper(), args.strip()))
    return pairs


def dockerfile_args(instruction: str) -> list[str]:
    return [args for name, args in dockerfile_instructions() if name == instruction]


def dockerfile_user() -> str:
    (user,) = dockerfile_args("USER")
    return user


def test_dockerfile_is_multi_stage_on_python_311_slim() -> None:
    defaults = dict(arg.split("=", 1) for arg in dockerfile_args("ARG") if "=" in arg)
    stages = [
        re.sub(r"\$\{(\w+)\}", lambda m: defaults[m[1]], args) for args in dockerfile_args("FROM")
    ]
    assert len(stages) == 2
    assert all(stage.startswith("python:3.11-slim") for stage in stages)
    assert stages[0].split()[1:] == ["AS", "build"]
    # The runtime stage installs the wheels built in the first one.
    assert any(re.search(r"--mount=\S*from=build", run) for run in dockerfile_args("RUN"))


def test_dockerfile_runs_as_numeric_non_root_user() -> None:
    uid, _, gid = dockerfile_user().partition(":")
    assert uid.isdigit() and int(uid) != 0
    assert gid.isdigit() and int(gid) != 0


def test_dockerfile_serves_on_all_interfaces_port_8000() -> None:
    assert dockerfile_args("EXPOSE") == ["8000"]
    env = " ".join(dockerfile_args("ENV"))
    assert "HOST=0.0.0.0" in env.split()
    assert "PORT=8000" in env.split()


def test_dockerfile_cmd_runs_gunicorn_with_the_copied_config() -> None:
    (cmd,) = dockerfile_args("CMD")
    argv = json.loads(cmd)
    assert argv[0] == "gunicorn"
    config_path = argv[argv.index("--config") + 1]
    copies = [args.split() for args in dockerfile_args("COPY") if "--from" not in args]
    assert ["deploy/gunicorn.conf.py", config_path] in copies
    assert argv[-1] == "shapecheck.api:create_app()"


def test_dockerfile_copies_only_existing_files_the_dockerignore_lets_in() -> None:
    allowed = [
        line[1:].rstrip("/")
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    copied = []
    for args in dockerfile_args("COPY"):
        if args.startswith("--"):
            continue
        *sources, _ = args.split()
        copied += sources
        for source in sources:
            if not any(c in source for c in "*?["):  # a wildcard may match nothing
                assert (REPO / source).exists(), f"COPY {source}: not in the repository"
            assert any(fnmatch.fnmatch(a, source.rstrip("/")) for a in allowed), (
                f"COPY {source}: excluded by .dockerignore"
            )
    # What building the package reads must be in the build stage.
    readme = tomllib.loads((REPO / "pyproject.toml").read_text())["project"].get("readme")
    if isinstance(readme, str):
        assert any(fnmatch.fnmatch(readme, source) for source in copied), readme


def healthcheck_code(argv: list[str]) -> str:
    assert argv[:2] == ["python", "-c"], argv
    return argv[2]


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        code = self.status if self.path == "/livez" else 404
        self.send_response(code)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def health_server(status: int) -> Iterator[int]:
    handler = type("Handler", (_Health,), {"status": status})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _healthchecks() -> dict[str, str]:
    (docker,) = dockerfile_args("HEALTHCHECK")
    docker_argv = json.loads(docker[docker.index("CMD") + len("CMD") :])
    (compose,) = load_documents(COMPOSE)
    (service,) = compose["services"].values()
    compose_argv = service["healthcheck"]["test"]
    assert compose_argv[0] == "CMD"
    return {
        "Dockerfile": healthcheck_code(docker_argv),
        "compose": healthcheck_code(compose_argv[1:]),
    }


@pytest.mark.parametrize("where", ["Dockerfile", "compose"])
def test_healthcheck_command_passes_on_a_healthy_server_and_fails_otherwise(where: str) -> None:
    code = _healthchecks()[where]
    assert "/livez" in code
    for status, healthy in ((200, True), (500, False)):
        with health_server(status) as port:
            # The command reads PORT (the image sets it) so that it works on any port.
            result = subprocess.run(
                [sys.executable, "-c", code],
                env={**os.environ, "PORT": str(port)},
                capture_output=True,
                timeout=30,
            )
        assert (result.returncode == 0) is healthy, (status, result.stderr)
    with socket.socket() as s:  # nothing listening
        s.bind(("127.0.0.1", 0))
        free_port = s.getsockname()[1]
    result = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, "PORT": str(free_port)}, timeout=30
    )
    assert result.returncode != 0


# --- gunicorn.conf.py ----------------------------------------------------------------------

# Loads the config file as gunicorn does (module-level names that are settings, through
# gunicorn's own validators) and prints the resulting settings as JSON.
_LOAD_CONFIG = textwrap.dedent(
    """
    import json, os, runpy, sys
    from gunicorn.config import Config

    namespace = runpy.run_path(sys.argv[1])
    cfg = Config()
    for key, value in namespace.items():
        if key in cfg.settings:
            cfg.set(key, value)
    print(json.dumps({
        "bind": cfg.bind,
        "workers": cfg.workers,
        "threads": cfg.threads,
        "worker_class": cfg.worker_class_str,
        "timeout": cfg.timeout,
        "graceful_timeout": cfg.graceful_timeout,
        "keepalive": cfg.keepalive,
        "max_requests": cfg.max_requests,
        "max_requests_jitter": cfg.max_requests_jitter,
        "worker_tmp_dir": cfg.worker_tmp_dir,
        "accesslog": cfg.accesslog,
        "errorlog": cfg.errorlog,
        "forwarded_allow_ips": cfg.forwarded_allow_ips,
        "wsgi_app": cfg.wsgi_app,
        "blas": {name: os.environ.get(name) for name in sys.argv[2:]},
    }))
    """
)


def clean_env(**overrides: str) -> dict[str, str]:
    """The test process's environment without any setting the config reads, plus overrides."""
    drop = DOCUMENTED_ENV | set(BLAS_ENV) | {"PROMETHEUS_MULTIPROC_DIR", "GUNICORN_CMD_ARGS"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    return {**env, **overrides}


def _pin_to(cpus: set[int] | None):
    if cpus is None:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


def load_config(cpus: set[int] | None = None, **env: str) -> dict[str, Any]:
    pytest.importorskip("gunicorn")
    result = subprocess.run(
        [sys.executable, "-c", _LOAD_CONFIG, str(GUNICORN_CONF), *BLAS_ENV],
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_pin_to(cpus),
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


needs_affinity = pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity"), reason="needs Linux CPU affinity"
)


def one_cpu() -> set[int]:
    return {min(os.sched_getaffinity(0))}


@needs_affinity
def test_config_defaults_on_one_cpu() -> None:
    cfg = load_config(cpus=one_cpu())
    assert cfg["bind"] == ["127.0.0.1:8000"]
    assert cfg["workers"] == 3  # min(2 * 1 + 1, 8)
    assert cfg["threads"] == 1
    assert cfg["worker_class"] == "sync"
    assert cfg["timeout"] == 30
    assert cfg["graceful_timeout"] == 30
    assert cfg["keepalive"] == 5
    assert cfg["max_requests"] == 2000
    assert cfg["max_requests_jitter"] == 200
    assert cfg["accesslog"] == "-"
    assert cfg["errorlog"] == "-"
    assert cfg["forwarded_allow_ips"] == ["127.0.0.1", "::1"]
    assert cfg["wsgi_app"] == "shapecheck.api:create_app()"
    assert cfg["worker_tmp_dir"] == ("/dev/shm" if os.path.isdir("/dev/shm") else None)
    assert cfg["blas"] == dict.fromkeys(BLAS_ENV, "1")  # max(1, 1 // 3)


def test_config_binds_host_and_port() -> None:
    assert load_config(HOST="0.0.0.0", PORT="9123")["bind"] == ["0.0.0.0:9123"]
    assert load_config(HOST="::", PORT="9123")["bind"] == ["[::]:9123"]


def test_config_gunicorn_bind_wins_over_host_and_port() -> None:
    cfg = load_config(HOST="0.0.0.0", PORT="9123", GUNICORN_BIND="unix:/tmp/s.sock, [::1]:9000")
    assert cfg["bind"] == ["unix:/tmp/s.sock", "[::1]:9000"]


def test_config_workers_threads_and_worker_class() -> None:
    cfg = load_config(WEB_CONCURRENCY="3", GUNICORN_THREADS="4")
    assert (cfg["workers"], cfg["threads"], cfg["worker_class"]) == (3, 4, "gthread")
    cfg = load_config(WEB_CONCURRENCY="1", GUNICORN_THREADS="1")
    assert (cfg["workers"], cfg["threads"], cfg["worker_class"]) == (1, 1, "sync")


def test_config_recycling_timeouts_and_logs_from_env() -> None:
    cfg = load_config(
        GUNICORN_MAX_REQUESTS="50",
        GUNICORN_MAX_REQUESTS_JITTER="7",
        GUNICORN_TIMEOUT="90",
        GUNICORN_GRACEFUL_TIMEOUT="15",
        GUNICORN_KEEPALIVE="75",
        GUNICORN_ACCESSLOG="off",
        FORWARDED_ALLOW_IPS="10.0.0.1,10.0.0.2",
    )
    assert (cfg["max_requests"], cfg["max_requests_jitter"]) == (50, 7)
    assert (cfg["timeout"], cfg["graceful_timeout"], cfg["keepalive"]) == (90, 15, 75)
    assert cfg["accesslog"] is None
    assert cfg["forwarded_allow_ips"] == ["10.0.0.1", "10.0.0.2"]


def test_config_empty_variables_mean_the_default() -> None:
    cfg = load_config(HOST="", PORT="", GUNICORN_MAX_REQUESTS="", GUNICORN_ACCESSLOG="")
    assert cfg["bind"] == ["127.0.0.1:8000"]
    assert cfg["max_requests"] == 2000
    assert cfg["accesslog"] == "-"


def test_config_rejects_a_non_integer_with_the_variable_name() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _LOAD_CONFIG, str(GUNICORN_CONF), *BLAS_ENV],
        env=clean_env(WEB_CONCURRENCY="lots"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "WEB_CONCURRENCY" in result.stderr and "'lots'" in result.stderr


@needs_affinity
def test_config_shares_cores_between_workers_for_blas() -> None:
    cpus = set(sorted(os.sched_getaffinity(0))[:2])
    if len(cpus) < 2:
        pytest.skip("needs two CPUs")
    cfg = load_config(cpus=cpus, WEB_CONCURRENCY="1")
    # Two cores for one worker (fewer if a cgroup quota caps the container at one).
    assert cfg["blas"]["OMP_NUM_THREADS"] in {"2", "1"}
    assert len(set(cfg["blas"].values())) == 1
    cfg = load_config(cpus=cpus, WEB_CONCURRENCY="8")
    assert cfg["blas"] == dict.fromkeys(BLAS_ENV, "1")


def test_config_keeps_blas_threads_already_set() -> None:
    cfg = load_config(WEB_CONCURRENCY="1", OMP_NUM_THREADS="7")
    assert cfg["blas"]["OMP_NUM_THREADS"] == "7"
    assert cfg["blas"]["MKL_NUM_THREADS"] != "7"


# Runs the config's server hooks with stand-ins for gunicorn's arbiter and worker.
_RUN_HOOKS = textwrap.dedent(
    """
    import json, logging, os, runpy, sys, types
    conf = runpy.run_path(sys.argv[1])
    server = types.SimpleNamespace(log=logging.getLogger("test"))
    conf["on_starting"](server)
    metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    before = sorted(os.listdir(metrics_dir))
    dead_pid = int(sys.argv[2])
    open(os.path.join(metrics_dir, f"gauge_livesum_{dead_pid}.db"), "wb").close()
    open(os.path.join(metrics_dir, "counter_1.db"), "wb").close()
    conf["child_exit"](server, types.SimpleNamespace(pid=dead_pid))
    after_child_exit = sorted(os.listdir(metrics_dir))
    conf["on_exit"](server)
    print(json.dumps({"dir": metrics_dir, "before": before, "after_child_exit": after_child_exit,
                      "exists_after_exit": os.path.exists(metrics_dir)}))
    """
)


def run_hooks(**env: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", _RUN_HOOKS, str(GUNICORN_CONF), "4242"],
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_on_starting_creates_a_fresh_metrics_dir_and_on_exit_removes_it(tmp_path: Path) -> None:
    out = run_hooks(TMPDIR=str(tmp_path))
    assert Path(out["dir"]).parent == tmp_path
    assert out["before"] == []
    assert out["exists_after_exit"] is False


def test_on_starting_empties_a_configured_metrics_dir_of_stale_files(tmp_path: Path) -> None:
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    (metrics / "counter_99.db").write_bytes(b"stale")
    (metrics / "README").write_text("not ours")
    out = run_hooks(PROMETHEUS_MULTIPROC_DIR=str(metrics))
    assert out["dir"] == str(metrics)
    assert out["before"] == ["README"], "only prometheus_client's *.db files are removed"
    assert out["exists_after_exit"] is True, "a directory we did not create is left alone"


def test_on_starting_creates_a_configured_metrics_dir(tmp_path: Path) -> None:
    metrics = tmp_path / "not" / "yet"
    out = run_hooks(PROMETHEUS_MULTIPROC_DIR=str(metrics))
    assert out["before"] == []
    assert metrics.is_dir()


def test_child_exit_marks_the_worker_dead_for_prometheus(tmp_path: Path) -> None:
    pytest.importorskip("prometheus_client")
    out = run_hooks(PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    # The dead worker's live gauge is gone; other metric files stay (counters keep their sum).
    assert out["after_child_exit"] == ["counter_1.db"]


# --- gunicorn.conf.py under a real gunicorn --------------------------------------------------

_STUB_APP = textwrap.dedent(
    """
    import json, os, sys

    PRELOADED = sorted(m for m in ("flask", "shapecheck.engine") if m in sys.modules)

    try:
        from prometheus_client import Gauge
    except ImportError:
        Gauge = None
    LIVE = Gauge("stub_live", "a live gauge", multiprocess_mode="livesum") if Gauge else None

    def app(environ, start_response):
        if LIVE is not None:
            LIVE.set(1)
        metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        body = json.dumps({
            "pid": os.getpid(),
            "metrics_dir": metrics_dir,
            "metrics_dir_exists": bool(metrics_dir) and os.path.isdir(metrics_dir),
            "omp": os.environ.get("OMP_NUM_THREADS"),
            "preloaded": PRELOADED,
            "rate_limit_file": os.environ.get("SHAPECHECK_RATE_LIMIT_FILE"),
        }).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_json(url: str, deadline: float) -> dict[str, Any]:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.load(response)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_gunicorn_serves_with_the_config(tmp_path: Path) -> None:
    pytest.importorskip("gunicorn")
    (tmp_path / "stub.py").write_text(_STUB_APP)
    port = _free_port()
    env = clean_env(PORT=str(port), WEB_CONCURRENCY="1", TMPDIR=str(tmp_path))
    cmd = [sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONF)]
    cmd += ["--chdir", str(tmp_path), "stub:app"]
    pinned = hasattr(os, "sched_setaffinity")
    server = subprocess.Popen(
        cmd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_pin_to(one_cpu()) if pinned else None,
    )
    try:
        first = _get_json(f"http://127.0.0.1:{port}/", time.monotonic() + 30)
        # Workers inherit what the master set up.
        assert first["metrics_dir_exists"] is True
        assert Path(first["metrics_dir"]).parent == tmp_path
        assert first["omp"] == "1" if pinned else int(first["omp"]) >= 1  # one core, one worker
        # The master imported the engine and Flask before forking: a worker starts with them.
        assert first["preloaded"] == ["flask", "shapecheck.engine"]
        # ...and made the table of rate-limit buckets that all workers share.
        assert Path(first["rate_limit_file"]).is_file()
        if _has("prometheus_client"):
            # A worker that exits has its live gauge removed by child_exit.
            live = Path(first["metrics_dir"]) / f"gauge_livesum_{first['pid']}.db"
            assert live.exists()
            os.kill(first["pid"], signal.SIGTERM)
            assert _wait_until(lambda: not live.exists(), 15), "child_exit did not run"
            second = _get_json(f"http://127.0.0.1:{port}/", time.monotonic() + 30)
            assert second["pid"] != first["pid"], "the master replaced the worker"
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            stdout, stderr = server.communicate(timeout=40)
        except subprocess.TimeoutExpired:
            server.kill()
            stdout, stderr = server.communicate()
    assert server.returncode == 0, stderr
    assert '"GET / HTTP/1.1" 200' in stdout, "access log on stdout"
    assert f"Listening at: http://127.0.0.1:{port}" in stderr, "error log on stderr"
    assert not Path(first["metrics_dir"]).exists(), "on_exit removes the metrics directory"
    assert not Path(first["rate_limit_file"]).exists(), "and the rate-limit table"


def _has(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True
