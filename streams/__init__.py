"""The composition root and the operator's tools: the worker, the CLI, admin clients, audit
evidence, the report, collectors, the simulator and the native stack."""
