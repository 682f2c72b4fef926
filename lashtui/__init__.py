"""lashtui: lash's durable background processes in Python, and a terminal dashboard for them.

The package is layered (see pyproject's import-linter contracts): `model`, `errors` and
`clock` are pure; `registry` stores processes; `worker` runs them; `admin` is the facade the
command line and the dashboard share.
"""

__version__ = "0.1.0"
