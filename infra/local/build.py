"""`make build`: `sam build` of every function, then a check of what it built.

The functions run on `provided.al2023`, arm64 by default (the template's `Architecture`
parameter). SAM builds each with cargo-lambda (`BuildMethod: rust-cargolambda`), which
cross-compiles with zig; both come from PyPI into .venv (`pip install cargo-lambda`).
Cross-compiling also needs Rust's standard library for the target, which rustup installs. When
it cannot (no rustup, or no access to its download server), this says so and builds for
x86_64 instead, which must then be deployed with `--parameter-overrides Architecture=x86_64`.

After the build each `bootstrap` is checked: an ELF executable for the intended machine that
asks for no newer glibc than Amazon Linux 2023 has (2.34). Sizes are printed: every cold start
loads the whole binary.
"""

import argparse
import pathlib
import platform
import re
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
BUILD_DIR = ROOT / ".aws-sam" / "build"
TARGETS = {"arm64": "aarch64-unknown-linux-gnu", "x86_64": "x86_64-unknown-linux-gnu"}
ELF_MACHINES = {"arm64": 183, "x86_64": 62}
AL2023_GLIBC = (2, 34)


def installed_targets() -> set[str]:
    if shutil.which("rustup") is None:
        return set()
    listed = subprocess.run(
        ["rustup", "target", "list", "--installed"], capture_output=True, text=True, check=False
    )
    return set(listed.stdout.split())


def ensure_target(architecture: str) -> str:
    """The architecture that can be built: the one asked for, or x86_64 with the reason."""
    target = TARGETS[architecture]
    if target in installed_targets():
        return architecture
    if shutil.which("rustup") is not None:
        print(f"Installing Rust's standard library for {target} (rustup target add)...")
        added = subprocess.run(["rustup", "target", "add", target], check=False)
        if added.returncode == 0:
            return architecture
        why = f"`rustup target add {target}` failed (see above): rustup could not download it"
    else:
        why = "rustup is not installed, so the Rust standard library for it cannot be added"
    host = "x86_64" if platform.machine() in ("x86_64", "AMD64") else None
    if architecture == "x86_64" or host != "x86_64":
        sys.exit(f"make build: cannot build for {architecture}: {why}.")
    print(
        f"\nmake build: CANNOT CROSS-COMPILE FOR {architecture}: {why}.\n"
        "Building for x86_64 (this machine's own architecture) instead. Deploy these binaries\n"
        "with `sam deploy --parameter-overrides Architecture=x86_64`; an arm64 stack would not\n"
        "start them. On a machine where rustup can download, `make build` builds arm64.\n"
    )
    return "x86_64"


def glibc_needed(binary: bytes) -> tuple[int, int]:
    versions = {(2, int(minor)) for minor in re.findall(rb"GLIBC_2\.(\d+)", binary)}
    return max(versions, default=(0, 0))


def check(architecture: str) -> None:
    bootstraps = sorted(BUILD_DIR.glob("*/bootstrap"))
    if not bootstraps:
        sys.exit(f"make build: sam build left no bootstrap under {BUILD_DIR}")
    print(f"\n{'function':<26} {'machine':<8} {'glibc':>6} {'size':>9}")
    for path in bootstraps:
        binary = path.read_bytes()
        if binary[:4] != b"\x7fELF" or binary[4] != 2:
            sys.exit(f"make build: {path} is not a 64-bit ELF executable")
        machine = int.from_bytes(binary[18:20], "little")
        if machine != ELF_MACHINES[architecture]:
            sys.exit(f"make build: {path} is for ELF machine {machine}, not {architecture}")
        glibc = glibc_needed(binary)
        if glibc > AL2023_GLIBC:
            sys.exit(
                f"make build: {path} needs glibc {glibc[0]}.{glibc[1]}; provided.al2023 has 2.34"
            )
        print(
            f"{path.parent.name:<26} {architecture:<8} {f'{glibc[0]}.{glibc[1]}':>6} "
            f"{len(binary) / 1_000_000:>7.1f} MB"
        )
    print(f"\nBuilt template: {BUILD_DIR.relative_to(ROOT)}/template.yaml (deploy with `sam deploy`).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--architecture", choices=sorted(TARGETS), default="arm64")
    asked = parser.parse_args().architecture
    architecture = ensure_target(asked)
    command = [
        "sam",
        "build",
        "--template",
        "template.yaml",
        "--parameter-overrides",
        f"Architecture={architecture}",
    ]
    print("$ " + " ".join(command))
    subprocess.run(command, cwd=ROOT, check=True)
    check(architecture)


if __name__ == "__main__":
    main()
