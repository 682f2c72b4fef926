"""The parser of the commands that run the engine, `worker` and `sweep`
(lashtui/command/worker.py): a lease's TTL, a worker's service options (its log, its
grace, its drain, its metrics address) and the rules `--once` sets for `--timeout` and
`--metrics`.

Its ranges and defaults are plain numbers, so `--help` loads no engine module (the default
grace is lashtui/worker/worker.py's STOP_GRACE_S; tests/worker/test_runs.py checks they agree).
"""

from __future__ import annotations

import argparse
import math
from typing import Any, cast

from lashtui.parser.argument import seconds, whole
from lashtui.parser.command_parser import CommandParser
from lashtui.parser.subcommand import add_command, add_output

# Lease TTLs the command line accepts: a worker renews every third of it, and below a
# second a renewal every ~330 ms on a busy machine risks a live owner losing its lease;
# above a day, a dead owner's owner_bound work would wait a day to be recovered. (lash's
# LeaseTimings itself only needs >= 1 ms; this is the operator-facing range.)
TTL_MS_MIN = 1_000
TTL_MS_MAX = 86_400_000

LOG_LEVELS = ("debug", "info", "warning", "error")  # lashtui/command/log.py LEVELS

WORKER_STOP = """Claims and runs the registry's work until SIGINT, SIGTERM or SIGHUP (its terminal
or ssh session closed). Then it claims nothing more, lets the runs in flight finish within
--grace, stops the rest (they write no terminal and release their leases, so another worker
can take them; a lease the registry does not take back is left to lapse, and said so), runs
the owner drain if --drain, and exits 0. A second signal stops at once: no more grace and no
drain, leases released if the registry takes them within 1 s (else left to lapse), exit 128
+ the signal's number (130 SIGINT, 143 SIGTERM, 129 SIGHUP); the same signal within 0.5 s
of the first is that one delivered twice (as `timeout` sends it), not a second.

With --once it exits 1 if the registry could not serve its pass (a claim or a write
refused, or a lease that lapsed after its renewals were refused), or if a run lost its
lease (it lapsed, or a renewal or write under it was refused: no longer this worker's),
naming each such run and how; a renewal refused and made good by
the next is logged, not a failure: the run went on under its lease."""


def _ttl_ms(text: str) -> int:
    """`worker --ttl-ms`, `sweep --ttl-ms`: 1 s to 24 h (see TTL_MS_MIN)."""
    return whole(text, TTL_MS_MIN, TTL_MS_MAX, "a lease TTL in milliseconds")


def _grace(text: str) -> float:
    """`worker --grace`: 0 stops the runs at once."""
    return seconds(text, "a grace period")


def _address(text: str) -> tuple[str, int]:
    """`worker --metrics`: HOST:PORT, an IPv6 host in brackets ([::1]:9100); port 0 takes
    any free port (the worker logs the one it bound)."""
    host, _, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not host or not port.isascii() or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(
            f"a metrics address is HOST:PORT with a port from 0 to 65535, got `{text}`"
        )
    return host, int(port)


def _add_logging(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-level", choices=LOG_LEVELS, default="info", type=str.lower,
        help="log from this level up, to stderr (default: info; debug adds every verdict)",
    )  # fmt: skip
    parser.add_argument(
        "--log-format", choices=("text", "json"), default="text",
        help="text lines, or one JSON object per line (default: text)",
    )  # fmt: skip


def _add_worker_service(worker: argparse.ArgumentParser) -> None:
    """The options of a worker run as a service: its log, its stop, its metrics."""
    _add_logging(worker)
    worker.add_argument(
        "--grace", type=_grace, default=30.0, metavar="SECONDS",
        help="on SIGINT/SIGTERM, how long runs in flight may take to finish before they are "
        "stopped (default: 30)",
    )  # fmt: skip
    worker.add_argument(
        "--drain", action="store_true",
        help="after stopping, abandon the owner_bound work this worker started (owner drain)",
    )  # fmt: skip
    worker.add_argument(
        "--metrics", type=_address, metavar="HOST:PORT",
        help="serve Prometheus metrics at http://HOST:PORT/metrics",
    )  # fmt: skip


def _once_timeout(text: str) -> float:
    """`worker --once --timeout`: a finite number of seconds > 0 (0 is no bound to GNU
    `timeout`, and would stop every run the pass starts; refused rather than guessed)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(
            f"a timeout is a finite number of seconds > 0, got `{text}`"
        )
    return value


def _timeout_needs_once(args: argparse.Namespace) -> str | None:
    """`--timeout` bounds one pass: a worker without `--once` runs until it is stopped."""
    if args.timeout is not None and not args.once:
        return "argument --timeout: only with --once (without it the worker runs until stopped)"
    return None


def _once_metrics(args: argparse.Namespace) -> str | None:
    """`--once` exits after its pass: nothing would scrape metrics served that long (they
    were silently not served)."""
    if args.once and args.metrics is not None:
        return "argument --metrics: not allowed with --once (one pass serves no metrics)"
    return None


def _add_ttl(parser: argparse.ArgumentParser, note: str) -> None:
    parser.add_argument(
        "--ttl-ms", type=_ttl_ms, metavar="N", help=f"lease TTL, {TTL_MS_MIN} to {TTL_MS_MAX}{note}"
    )


def add_engine(sub: Any) -> None:
    worker = add_command(
        sub, "worker", "run the worker and sweep headless", description=WORKER_STOP
    )
    worker.add_argument(
        "--once", action="store_true", help="one pass; wait for the runs it starts, exit"
    )
    worker.add_argument(
        "--timeout", type=_once_timeout, metavar="SECONDS",
        help="with --once: at most SECONDS for the pass and its runs; then the runs still "
        "in flight are stopped (no terminal; leases released, or left to lapse if the "
        "registry does not take them back) and it exits 124 (default: no bound)",
    )  # fmt: skip
    _add_ttl(worker, " (renew every third; default 30000)")
    _add_worker_service(worker)
    add_output(worker)
    cast(CommandParser, worker).checks += [_once_metrics, _timeout_needs_once]
    sweep = add_command(
        sub,
        "sweep",
        "one recovery pass that runs no work: abandon what the rules say to abandon (dead "
        "owners' owner_bound work, honoured abandon requests) and say how many rows it "
        "looked at and what it decided (-o json: `looked_at` and every verdict's count, 0 "
        "when none)",
    )
    sweep.add_argument(
        "--once", action="store_true", help="one pass and exit (the only mode; may be left out)"
    )
    _add_ttl(sweep, " (default 30000)")
    _add_logging(sweep)
    add_output(sweep)
