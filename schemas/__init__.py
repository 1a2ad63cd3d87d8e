"""Pydantic v2 models of the events sovwatch carries: pure data, no I/O."""
