"""The ports the launcher picks for its children's servers (launcher.supervisor.free_port)."""

from __future__ import annotations

import socket

from launcher.supervisor import free_port


def test_a_picked_port_is_free_and_outside_the_range_outgoing_connections_take():
    for _ in range(50):
        port = free_port()
        assert 20_000 <= port < 32_000  # the kernel's ephemeral range starts at 32768
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))  # nothing holds it
