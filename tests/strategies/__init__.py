"""Hypothesis strategies shared by unit, fuzz and simulator tests."""
