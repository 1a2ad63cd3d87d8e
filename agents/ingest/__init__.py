"""The ingest agent (`agent`) and its pure step (`steps`: raw bytes -> event -> points)."""
