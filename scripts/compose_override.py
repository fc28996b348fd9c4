"""Write the override file `make test-compose` runs docker-compose.yml with, never a copy of it.

    python scripts/compose_override.py CONFIG_JSON STANDINS_JSON OUT_YAML OUT_PORTS_JSON

CONFIG_JSON is `docker compose config --format json` of docker-compose.yml alone, so whatever
services main has are the ones overridden. STANDINS_JSON maps an image the engine could not pull
to the local image standing in for it (scripts/compose_ci.sh decides). The override changes only:

- the image of each service whose image is a stand-in's, and the BASE_IMAGE build argument of
  each built service when its Dockerfile's default base is one;
- every published port, to a free port on 127.0.0.1 (the machine's own RabbitMQ, PostgreSQL,
  and whatever else runs here hold the usual ones). `!override` replaces the list, since
  compose would otherwise add the ports to the file's own.

OUT_PORTS_JSON gets {service: {container port: host port}} for the smoke test.
"""

import json
import re
import socket
import sys
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def dockerfile_base_default(context: Path, dockerfile: str) -> str | None:
    """The default of `ARG BASE_IMAGE=...` in a service's Dockerfile, if it has one."""
    path = Path(dockerfile) if Path(dockerfile).is_absolute() else context / dockerfile
    match = re.search(r"^ARG\s+BASE_IMAGE=(\S+)", path.read_text(), re.MULTILINE)
    return match.group(1) if match else None


def override(
    config: dict[str, Any], standins: dict[str, str]
) -> tuple[str, dict[str, dict[str, int]]]:
    lines = ["# Written by scripts/compose_override.py for make test-compose.", "services:"]
    ports: dict[str, dict[str, int]] = {}
    for name, service in sorted(config["services"].items()):
        body: list[str] = []
        build = service.get("build")
        if build:
            base = dockerfile_base_default(
                Path(build["context"]), build.get("dockerfile", "Dockerfile")
            )
            if base in standins and "BASE_IMAGE" not in (build.get("args") or {}):
                body += ["    build:", "      args:", f"        BASE_IMAGE: {standins[base]}"]
        elif service.get("image") in standins:
            body.append(f"    image: {standins[service['image']]}")
        published = service.get("ports") or []
        if published:
            body.append("    ports: !override")
            for port in published:
                host_port = free_port()
                target = int(port["target"])
                ports.setdefault(name, {})[str(target)] = host_port
                protocol = port.get("protocol", "tcp")
                body.append(f'      - "127.0.0.1:{host_port}:{target}/{protocol}"')
        if body:
            lines += [f"  {name}:", *body]
    return "\n".join(lines) + "\n", ports


def main(config_path: str, standins_path: str, out_yaml: str, out_ports: str) -> None:
    config = json.loads(Path(config_path).read_text())
    standins = json.loads(Path(standins_path).read_text())
    text, ports = override(config, standins)
    Path(out_yaml).write_text(text)
    Path(out_ports).write_text(json.dumps(ports, indent=2) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
