"""sovwatch runtime: settings, Kafka/Faust wiring, the CLI and the native stack launcher."""
