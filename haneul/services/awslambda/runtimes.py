"""Which local interpreter serves a Lambda runtime.

- pythonX.Y: `HANEUL_LAMBDA_PYTHON3_12` (an executable path) if set, else `python3.12` on
  PATH, else pyenv's `~/.pyenv/versions/3.12.*/bin/python3.12`.
- nodejsNN.x: `HANEUL_LAMBDA_NODEJS22_X` if set, else a `node` on PATH or in nvm's folders
  whose major version is NN.  A different major is never substituted silently.
- provided.al2 / provided.al2023: the function's own `bootstrap` executable.

A runtime no interpreter can serve is refused at CreateFunction/UpdateFunctionConfiguration
with InvalidParameterValueException naming what is missing and how to supply it.
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess

from haneul.errors import AwsError

PYTHON = ("python3.9", "python3.10", "python3.11", "python3.12", "python3.13")
NODE = ("nodejs18.x", "nodejs20.x", "nodejs22.x")
PROVIDED = ("provided.al2", "provided.al2023", "provided")
_HERE = os.path.dirname(os.path.abspath(__file__))
BOOTSTRAP_DIR = os.path.join(_HERE, "bootstrap")


def kind(runtime: str) -> str:
    if runtime in PYTHON:
        return "python"
    if runtime in NODE:
        return "node"
    if runtime in PROVIDED:
        return "provided"
    return "unsupported"


def variable(runtime: str) -> str:
    """The setting that names a runtime's interpreter: HANEUL_LAMBDA_NODEJS22_X, ..."""
    return "HANEUL_LAMBDA_" + runtime.upper().replace(".", "_")


def _override(runtime: str) -> str | None:
    """The interpreter the setting names, if it is executable and of the runtime's version
    (a Node.js 20 named for nodejs22.x is not taken)."""
    path = os.environ.get(variable(runtime))
    if not path or not os.access(path, os.X_OK):
        return None
    if runtime in NODE and _node_major(path) != int(runtime[len("nodejs"):-2]):
        return None
    return path


@functools.lru_cache(maxsize=None)
def _node_major(path: str) -> int | None:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=5).stdout
        return int(out.strip().lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


@functools.lru_cache(maxsize=None)
def _find(runtime: str) -> str | None:
    found = _override(runtime)
    if found:
        return found
    if runtime in PYTHON:
        exe = shutil.which(runtime)
        if exe and "/shims/" not in exe:      # pyenv shims re-resolve on every start: slow
            return exe
        version = runtime[len("python"):]
        roots = [os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")]
        for root in roots:
            for path in sorted(glob.glob(os.path.join(root, "versions", f"{version}.*", "bin", runtime)),
                               reverse=True):
                if os.access(path, os.X_OK):
                    return path
        return None
    if runtime in NODE:
        major = int(runtime[len("nodejs"):-2])
        candidates = [p for p in [shutil.which("node") or ""] if "/shims/" not in p]
        candidates += sorted(glob.glob(os.path.expanduser(f"~/.nvm/versions/node/v{major}.*/bin/node")),
                             reverse=True)
        for path in candidates:
            if path and _node_major(path) == major:
                return path
        return None
    return None


def interpreter(runtime: str) -> str | None:
    """The executable serving `runtime`, or None (provided runtimes need none)."""
    return _find(runtime)


def check(runtime: str | None) -> None:
    """Refuse a runtime nothing here can run."""
    if runtime is None:
        raise AwsError("InvalidParameterValueException",
                       "Runtime and Handler are mandatory parameters for functions created with "
                       "deployment packages.", Type="User")
    k = kind(runtime)
    if k == "provided":
        return
    if k == "unsupported":
        raise AwsError("InvalidParameterValueException",
                       f"The runtime parameter of {runtime} is not supported by Haneul. Supported: "
                       f"{', '.join(PYTHON + NODE + PROVIDED[:2])}.", Type="User")
    if interpreter(runtime) is None:
        raise AwsError("InvalidParameterValueException",
                       f"The runtime parameter of {runtime} is not supported here: {missing(runtime)} "
                       f"Available: {', '.join(available())}.", Type="User")


def missing(runtime: str) -> str:
    """Why no interpreter serves `runtime`, and what to install or set."""
    key = variable(runtime)
    given = os.environ.get(key)
    if runtime in NODE:
        major = int(runtime[len("nodejs"):-2])
        seen = []
        if given:
            version = _node_major(given) if os.access(given, os.X_OK) else None
            seen.append(f"{key}={given} is " + (f"Node.js {version}" if version else "not an executable node"))
        on_path = shutil.which("node")
        if on_path:
            seen.append(f"the node on PATH ({on_path}) is Node.js {_node_major(on_path)}")
        found = "; ".join(seen) or "no node on PATH or in ~/.nvm"
        return (f"no Node.js {major} found ({found}). Install Node.js {major} (for example `npm install "
                f"--prefix ~/.haneul-node/{major} node@{major}`, see docs/lambda.md) and set {key} to its "
                f"node executable (~/.haneul-node/{major}/node_modules/node/bin/node).")
    version = runtime[len("python"):]
    if given:
        return (f"{key}={given} is not an executable. Set {key} to a Python {version} interpreter, or put "
                f"{runtime} on PATH (pyenv install {version} also works).")
    return (f"no {runtime} on PATH or in ~/.pyenv/versions/{version}.*. Install Python {version} "
            f"(pyenv install {version}, or the system package) or set {key} to its interpreter.")


def available() -> list[str]:
    return [r for r in PYTHON + NODE if interpreter(r)] + list(PROVIDED[:2])


def describe() -> dict[str, str]:
    """runtime -> the interpreter serving it (for `haneul status` and the docs)."""
    out = {r: interpreter(r) or "-" for r in PYTHON + NODE}
    out.update({r: "the function's bootstrap" for r in PROVIDED[:2]})
    return out


def command(runtime: str, task_root: str) -> list[str]:
    """The argv starting an execution environment's runtime process."""
    k = kind(runtime)
    if k == "python":
        return [interpreter(runtime), "-u", os.path.join(BOOTSTRAP_DIR, "python_runtime.py")]
    if k == "node":
        return [interpreter(runtime), os.path.join(BOOTSTRAP_DIR, "node_runtime.js")]
    return [os.path.join(task_root, "bootstrap")]
