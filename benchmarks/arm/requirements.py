"""galprof's requirements for the aarch64 chroot, pinned to this interpreter's versions (make test-arm).

`pip download --platform ...` still evaluates environment markers against the machine it runs on: on
x86 it would want hdbscan, which pyproject.toml installs on x86 only (it has no aarch64 wheel). This
reads the Requires-Dist of galprof's wheel, keeps what applies to Linux aarch64 CPython 3.11, and
writes two files for the wheelhouse step of run.sh:

  requirements.txt  those requirements (with their extras and version ranges)
  constraints.txt   every distribution installed here pinned to its version here, so that the ARM
                    scan runs the same numpy, onnxruntime, scikit-learn... as the x86 scan it is
                    compared with

Usage: python requirements.py GALPROF_WHEEL OUT_DIR
"""

from __future__ import annotations

import sys
import zipfile
from email.parser import Parser
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

# The chroot: Debian 12 arm64 and its python3 (3.11)
AARCH64_LINUX_CP311 = {
    "implementation_name": "cpython",
    "platform_machine": "aarch64",
    "platform_python_implementation": "CPython",
    "platform_system": "Linux",
    "python_full_version": "3.11.2",
    "python_version": "3.11",
    "sys_platform": "linux",
    "os_name": "posix",
    "extra": "",
}


def wheel_requirements(wheel: Path) -> list[Requirement]:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        fields = Parser().parsestr(archive.read(name).decode())
    return [Requirement(line) for line in fields.get_all("Requires-Dist") or []]


def for_aarch64(requirements: list[Requirement]) -> list[Requirement]:
    return [r for r in requirements if r.marker is None or r.marker.evaluate(AARCH64_LINUX_CP311)]


def without_marker(requirement: Requirement) -> str:
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    return f"{requirement.name}{extras}{requirement.specifier}"


def host_pins(skip: str = "galprof") -> list[str]:
    pins = {d.metadata["Name"].lower(): d.version for d in metadata.distributions()}
    return [f"{name}=={version}" for name, version in sorted(pins.items()) if name != skip]


def main(argv: list[str]) -> int:
    wheel, out = Path(argv[1]), Path(argv[2])
    wanted = for_aarch64(wheel_requirements(wheel))
    (out / "requirements.txt").write_text("".join(f"{without_marker(r)}\n" for r in wanted))
    (out / "constraints.txt").write_text("".join(f"{pin}\n" for pin in host_pins()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
