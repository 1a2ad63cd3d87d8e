"""Run dashboard queries the way Grafana does, without Grafana: the query runner.

A panel's Flux goes through the same two substitution steps as in Grafana 11 with the InfluxDB
datasource in Flux mode, then to the real InfluxDB:

1. the front end (`templating`): dashboard variables (`$var`, `${var}`, `${var:format}`,
   `[[var]]`), the interval chosen for the panel (`interval`), `$__from`/`$__to`;
2. the datasource on the server (`macros`): `v.timeRangeStart`, `v.timeRangeStop`,
   `v.windowPeriod`, `v.defaultBucket`, `v.bucket`, `v.organization`, `$__interval_ms`,
   `$__interval`.

The answer becomes Grafana's data frames (`frames`). Sources of each rule: dashboards/README.md.
"""
