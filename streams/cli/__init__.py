"""The `sovwatch` command: `main` and one module per command group."""
