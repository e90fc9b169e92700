"""A swarm docker.Service seen as the container each of its tasks runs, so every container rule
judges it: image, env, mounts, capabilities, healthcheck, limits, ports, networks, labels.

The mapping follows kreuzwerker/terraform-provider-docker v4.5.0
internal/provider/resource_docker_service_structures.go `createContainerSpec`,
`createResources`, `createRestartPolicy`, `createServiceEndpointSpec` and
`createServiceAdvancedNetworks`, with pulumi-docker 5.2.0's camelCase input names:

- a published port has no host address: swarm publishes it on every interface of every node
  (ingress) or of the task's node (`publishMode: host`), so it maps to an `ip`-less port;
- `networksAdvanceds` named `host` attach the task to the host's network namespace;
- `privileges.seLinuxContext.disable` switches SELinux off (`label=disable`) and its `type` is
  the process label (`label=type:<type>`);
- `resources.limits.nanoCpus` (1e9 per CPU) and `memoryBytes` become `cpus` and `memory` (MB);
- `restartPolicy.condition` any/on-failure/none and `maxAttempts` become a restart policy;
- the service's own `labels` (read by Traefik's swarm provider) join the task's labels.
"""

from __future__ import annotations

from typing import Any

from .props import SECRET_SIG, SIG_KEY, as_dict, as_list, as_number

RESTART = {"any": "unless-stopped", "on-failure": "on-failure", "none": "no"}


def _env(env: Any) -> Any:
    """The `env` map as a container's `envs` list, secret markers kept per element or whole."""
    if isinstance(env, dict) and env.get(SIG_KEY) == SECRET_SIG:
        inner = _env(env.get("value"))
        return {SIG_KEY: SECRET_SIG, "value": inner}
    out: list[Any] = []
    for key, value in as_dict(env).items():
        if isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG:
            out.append({SIG_KEY: SECRET_SIG, "value": f"{key}={value.get('value')}"})
        else:
            out.append(f"{key}={value}")
    return out


def _security_opts(spec: dict[str, Any]) -> list[str]:
    selinux = as_dict(as_dict(spec.get("privileges")).get("seLinuxContext"))
    opts = []
    if selinux.get("disable") is True:
        opts.append("label=disable")
    if isinstance(selinux.get("type"), str) and selinux["type"]:
        opts.append(f"label=type:{selinux['type']}")
    return opts


def _ports(endpoint: dict[str, Any]) -> list[dict[str, Any]]:
    ports = []
    for port in as_list(endpoint.get("ports")):
        port = as_dict(port)
        mapped: dict[str, Any] = {"internal": port.get("targetPort")}
        if port.get("publishedPort"):
            mapped["external"] = port["publishedPort"]
        ports.append(mapped)
    return ports


def _limits(task: dict[str, Any]) -> dict[str, Any]:
    limits = as_dict(as_dict(task.get("resources")).get("limits"))
    out: dict[str, Any] = {}
    nano, memory = as_number(limits.get("nanoCpus")), as_number(limits.get("memoryBytes"))
    if nano:
        out["cpus"] = str(nano / 1e9)
    elif "nanoCpus" in limits:
        out["cpus"] = limits["nanoCpus"]  # an unknown value stays unknown
    if memory:
        out["memory"] = memory / (1024 * 1024)
    elif "memoryBytes" in limits:
        out["memory"] = limits["memoryBytes"]
    return out


def _restart(task: dict[str, Any]) -> dict[str, Any]:
    policy = as_dict(task.get("restartPolicy"))
    condition = policy.get("condition", "any")  # swarm's default restarts on any exit
    out: dict[str, Any] = {"restart": RESTART.get(str(condition), condition)}
    if policy.get("maxAttempts") is not None:
        out["maxRetryCount"] = policy["maxAttempts"]
    return out


def as_container(props: dict[str, Any]) -> dict[str, Any]:
    """The container-shaped inputs of a docker.Service's tasks."""
    task = as_dict(props.get("taskSpec"))
    spec = as_dict(task.get("containerSpec"))
    networks = [
        {"name": as_dict(n).get("name"), "aliases": as_dict(n).get("aliases")}
        for n in as_list(task.get("networksAdvanceds"))
    ]
    out: dict[str, Any] = {
        "name": props.get("name"),
        "image": spec.get("image"),
        "command": [*as_list(spec.get("commands")), *as_list(spec.get("args"))],
        "envs": _env(spec.get("env")),
        "mounts": as_list(spec.get("mounts")),
        "capabilities": {"adds": as_list(spec.get("capAdds")), "drops": as_list(spec.get("capDrops"))},
        "securityOpts": _security_opts(spec),
        "readOnly": spec.get("readOnly"),
        "labels": [*as_list(spec.get("labels")), *as_list(props.get("labels"))],
        "ports": _ports(as_dict(props.get("endpointSpec"))),
        "networksAdvanced": [n for n in networks if n["name"] != "host"],
        "logDriver": as_dict(task.get("logDriver")).get("name"),
        "logOpts": as_dict(task.get("logDriver")).get("options"),
        **_limits(task),
        **_restart(task),
    }
    if "healthcheck" in spec:
        out["healthcheck"] = spec["healthcheck"]
    if any(n["name"] == "host" for n in networks):
        out["networkMode"] = "host"
    return {k: v for k, v in out.items() if v is not None}
