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


def test_a_port_is_never_handed_out_twice_nor_one_another_process_chose(monkeypatch):
    # a test picks the mesh's service ports, and the launcher (another process) its children's
    # metrics ports before every service has bound its own: the same number twice was a
    # service dying at start with "address already in use"
    import random

    picks = iter([25_000, 25_000, 25_001, 25_002])
    monkeypatch.setattr(random, "randrange", lambda *_: next(picks))
    monkeypatch.setattr("launcher.supervisor._handed_out", set())
    assert free_port() == 25_000
    assert free_port(avoid=[25_001]) == 25_002  # 25,000 was handed out, 25,001 is avoided
