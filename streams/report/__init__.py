"""`sovwatch report`: the dashboards' panels drawn from the same queries into one static HTML
page (SVG charts, no script, no network), with the period's alerts by team and severity and the
audit chain's verification per site; optionally printed to PDF by headless Chromium."""
