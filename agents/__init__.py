"""Faust agents, one concern each: ingest, compliance, audit, sink."""
