"""What CI installs must be there in CI: a test that needs it fails there instead of skipping.

CI (``.ci/run``) sets ``CI=true`` and installs the ``dev`` extra (onnxruntime, Ray, PyAV, …), Chromium,
util-linux and iproute2. Elsewhere a test whose tool is missing is skipped, with the reason.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str) -> NoReturn:
    """Skip with ``reason``; in CI, fail with it."""
    if in_ci():
        pytest.fail(f"cannot run in CI: {reason}")
    pytest.skip(reason, allow_module_level=True)  # also where a test module is imported


def require(module: str, install: str) -> ModuleType:
    """Import ``module``, or skip (in CI: fail) saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        unavailable(f"needs {module} ({install}): {error}")
