"""Fleet simulator: realistic telemetry of a fleet of sovereign AI sites, with injected incidents
and a ground-truth file to score the rule engine against (`sovwatch simulate`, `sovwatch score`)."""
