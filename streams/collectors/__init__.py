"""Collectors at the sites: the dcgm-exporter scrape and the Telegraf configuration."""
