"""The compliance rule engine: rule files (YAML data), a safe expression language, six rule
kinds with windowed state, and alert creation. Pure logic: no Faust, no Kafka, no I/O besides
reading rule files, so it runs the same in the worker, in `sovwatch rules test` and in benchmarks.
"""
