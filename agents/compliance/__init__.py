"""Compliance: the stage that runs the rule engine over each batch, the engine's state on a Faust
table, and where alerts go."""
