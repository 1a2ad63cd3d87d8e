"""A small registry file for the site tests."""

from __future__ import annotations

from pathlib import Path

REGISTRY = """\
version: 1
sites:
  - id: osa-1
    country: JP
    tz: Asia/Tokyo
    working_hours: {start: "08:00", end: "20:00"}
    zones:
      - {id: gpu-hall-1, kind: gpu_hall}
      - {id: cage-7, kind: cage, two_person: true, customer: Lab}
    racks:
      - {id: r-1, zone: gpu-hall-1, allocated_w: 30000, nodes: [node-01]}
  - id: ruh-1
    country: SA
    tz: Asia/Riyadh
    weekend: [fri, sat]
"""


def registry_file(directory: Path, text: str = REGISTRY) -> Path:
    path = directory / "sites.yaml"
    path.write_text(text)
    return path
