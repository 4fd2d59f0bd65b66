"""frontdesk: shared code of the mesh (settings, ids, caller context, NATS and store
clients, CLI, supervisor) and, under frontdesk/<service>/v1/, the stubs generated from
protos/."""

__version__ = "0.1.0"
