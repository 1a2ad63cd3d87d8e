"""The site registry at run time: lint and load, lookups by event, local calendars, the country
binding and reload while running."""
