"""Fuzz tests: 100k+ generated inputs, no servers (`make test-fuzz`)."""
