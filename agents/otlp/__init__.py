"""An OpenTelemetry Collector as a producer: its kafka exporter's OTLP metrics (dcgm-exporter
scraped by its prometheus receiver) mapped to GPU samples.

`request` parses a record (otlp_proto or otlp_json); `mapping` turns its data points into
samples with the dcgm-exporter adapter's table (`schemas.dcgm`).
"""

from agents.otlp.mapping import OtlpAdapter, OtlpSamples

__all__ = ["OtlpAdapter", "OtlpSamples"]
