"""Grafana dashboards as code, provisioning files and the provisioning client."""
