"""The audit agent: the per-site hash chain (records, chain state, durable heads), signed
checkpoints, the witness directory and verification."""
