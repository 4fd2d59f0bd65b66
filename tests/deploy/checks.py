"""Checks shared by the compose and Kubernetes tests: the deployment files against the code."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import fields

from frontdesk import settings as settings_mod
from tests.deploy.tooling import ROOT

# the services `frontdesk <command>` runs, and the setting naming each one's gRPC port
SERVICE_PORT_SETTING = {
    "gateway": "gateway_port",
    "conversation": "conversation_port",
    "inference": "inference_port",
    "speech": "speech_port",
    "analytics": "analytics_port",
}
SETTING_NAMES = {settings_mod.env_name(f.name) for f in fields(settings_mod.Settings)}


def check_frontdesk_env(env: dict[str, str], where: str) -> settings_mod.Settings:
    """Every FRONTDESK_* variable is a real setting and its value parses as that setting."""
    unknown = sorted(k for k in env if k.startswith("FRONTDESK_") and k not in SETTING_NAMES)
    assert not unknown, f"{where}: not settings of frontdesk/settings.py: {unknown}"
    try:
        return settings_mod.load({k: str(v) for k, v in env.items() if k.startswith("FRONTDESK_")})
    except SystemExit as err:  # load() reports a bad value this way
        raise AssertionError(f"{where}: {err}") from None


_cli_checked: set[str] = set()


def check_cli_command(command: str) -> None:
    """`frontdesk COMMAND` exists in the real CLI (its parser accepts it)."""
    if command in _cli_checked:
        return
    result = subprocess.run(
        [sys.executable, "-m", "launcher.cli", command, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"`frontdesk {command}` is not a command of frontdesk/cli.py:\n{result.stderr}"
    _cli_checked.add(command)
