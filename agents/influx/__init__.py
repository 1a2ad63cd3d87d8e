"""Storage in InfluxDB: the point layout, line protocol, which store a country's points go to,
acknowledged batched writes."""
