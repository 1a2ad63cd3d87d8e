"""The local dev stack's helpers: its generated secrets and the demo's audit step."""
