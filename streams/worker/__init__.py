"""The running worker: the Faust app, the topology built from a `Settings`, its consumer, offset
watch and web pages, and `run_worker`."""
