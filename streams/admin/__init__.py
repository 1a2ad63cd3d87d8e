"""What an operator runs against Kafka and InfluxDB: clients, the one producer policy, topics,
buckets, tokens, principals, the round-trip self-check, the DLQ and alert topic tools."""
