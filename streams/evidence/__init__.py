"""The audit evidence an officer reads: the store reader, the bundle export, the HTML view, the
witnesses."""
