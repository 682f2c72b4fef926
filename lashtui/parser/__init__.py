"""The `lashtui` command line's parser (api.md §7): `build_parser`. One module per family
of commands, named as the modules in `lashtui.command` that do what they parse: `read`
(ls, show, events, await, errors, audit), `action` (start, the operator's acts, prune,
index), `worker` (worker, sweep), `dashboard` (dash, demo) and `completion`; and what the
families share: `subcommand` (how a subcommand is made), `argument` (the argparse types
several take) and `usage` (the usage errors found once the arguments parse). `check` and the
streaming flags (`ls --watch`, `events --follow`) are lashtui/cli_probe.py's.

A package of its own rather than part of `lashtui.command`, which loads every command when
imported: `lashtui --help` builds the whole parser and loads neither asyncio nor the model
(tests/test_import_hygiene.py; S1 counts its start-up). So these modules import only the
standard library, lashtui.clock, lashtui.errors and cli_probe; a check that needs the model
imports it when it runs, after the arguments parse.
"""
