"""Loading the scripts of bench/, which are not a package, in the tests that check them."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def bench_script(name: str) -> Iterator[ModuleType]:
    """bench/<name>.py as the module bench_<name>, with bench/ on sys.path while it loads."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.syspath_prepend(str(ROOT / "bench"))  # its `from common import ...`
            spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]
