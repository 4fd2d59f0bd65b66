"""The Go tools the tests run (deploy validator, grpcurl, ghz), built and cached by
tools/gobuild.py (tools/ is not a package, so it is loaded from its path)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_GOBUILD = Path(__file__).resolve().parent.parent / "tools" / "gobuild.py"


def _gobuild():
    name = "frontdesk_tools_gobuild"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, _GOBUILD)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def tool(name: str, binary: str) -> Path:
    """The path of one built binary of a tool in tools/gobuild.py's TOOLS (built on first use)."""
    return _gobuild().build(name) / binary
