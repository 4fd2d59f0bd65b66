"""The analytics service: consumes the domain events on JetStream (stream EVENTS), keeps
per-tenant hourly aggregates in the log store (exactly once per event id) and answers
AnalyticsService for the admin panel. Design and limits: analytics/README.md."""
