"""The operator's dashboard (Textual). It reads and acts only through the `Processes`
facade; the embedded worker runs as an App-level worker. Nothing below `lashtui.tui`
imports it."""
