"""frontdesk: the code every service shares (settings, ids, caller context, errors, NATS and
store clients, the gRPC runtime). It imports no service and no launcher (docs/architecture.md);
the stubs generated from protos/ live apart, in frontdesk_pb/."""

__version__ = "0.1.0"
