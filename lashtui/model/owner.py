"""A lease owner as an operator reads it, in every place that names one: the dashboard's
tables and status line, `lashtui ls`, and the sentences an action reports (`lashtui
cancel`, `lashtui signal`, the dashboard's results: model/outcome.py).

An owner id and a host are whatever the program that took the lease stored: another
program is not held to lashtui's write limits, so either may be 100,000 characters long or
hold control characters (`\\x1b]0;...\\x07` retitles a terminal) or markup brackets. So a
name is made from the start of each value only, made visible (lashtui.untrusted) and
clipped. A recovery attempt's id (`<owner>:recovery:<32 hex digits>`, worker/identity.py)
is shown as its worker's: the suffix only tells attempts apart, and a sentence that quoted
it named a holder no table showed. Pure, and no Textual: the engine's sentences use it.
(`lashtui show` prints an owner id whole, up to what a write allows.)
"""

from lashtui.model.lease import LeaseOwnerIdentity, LocalProcessLiveness
from lashtui.untrusted import visible, visible_clipped

# What a recovery attempt adds to its worker's owner id before its random part.
RECOVERY = ":recovery:"

OWNER_WIDTH = 48  # characters of an owner id shown
HOST_WIDTH = 32  # characters of a host id shown


def owner(identity: LeaseOwnerIdentity | None) -> str:
    """`w-1@host-a:4242`: the owner id (a recovery attempt's as its worker's), where it
    runs and its pid, each part made visible and clipped; `-` for none."""
    if identity is None:
        return "-"
    # Only the start of the id is looked at: what is shown of it, and room for the marker.
    start = identity.owner_id[: OWNER_WIDTH + len(RECOVERY) + 1]
    name = visible_clipped(start.split(RECOVERY)[0], OWNER_WIDTH)
    liveness = identity.liveness
    if not isinstance(liveness, LocalProcessLiveness):
        return name
    return _placed(name, visible_clipped(liveness.host_id, HOST_WIDTH), liveness.pid)


def _placed(name: str, host: str, pid: int) -> str:
    """`name@host:pid`, as shown. A host id names the PID namespace after the hostname
    (`vm/pid:[4026531836]`, worker/identity.py), and an owner id often ends with that
    hostname (`lashtui-worker@vm`): the hostname is said once, `lashtui-worker@vm/pid:[...]:42`,
    where it read `lashtui-worker@vm@vm/pid:[...]:42`."""
    machine, _, namespace = host.partition("/")
    if name.endswith(f"@{machine}"):
        where = f"{name}/{namespace}" if namespace else name
    else:
        where = f"{name}@{host}"
    return f"{where}:{pid}"


def owner_ends(identity: LeaseOwnerIdentity, reach: int) -> str:
    """The owner as `owner` names it, each part kept whole up to `2 * reach` characters and
    past that as its first and last `reach`, not clipped: what a cut in its middle to
    `reach` cells keeps of it is then the whole name's start and end, with one `…`. Cut
    from `owner`'s own clipped parts, a name showed two (`worker-ww……@host-hh…:42`) and
    never its host's end."""
    owner_id = identity.owner_id
    start = owner_id[: reach + len(RECOVERY) + 1]
    # A recovery attempt is named as its worker (see `owner`); its mark is looked for
    # where it can be, near the start or in the suffix an attempt adds at the end.
    if RECOVERY in start:
        worker = start.split(RECOVERY)[0]
    elif RECOVERY in owner_id[-64:]:
        worker = owner_id[: owner_id.rindex(RECOVERY)]
    else:
        worker = owner_id
    name = _ends(worker, reach)
    liveness = identity.liveness
    if not isinstance(liveness, LocalProcessLiveness):
        return name
    return _placed(name, _ends(liveness.host_id, reach), liveness.pid)


def _ends(value: str, reach: int) -> str:
    """`value` made visible, whole up to `2 * reach` characters, else its first and last
    `reach` (only they are looked at)."""
    if len(value) <= 2 * reach:
        return visible(value)
    return visible(value[:reach]) + visible(value[-reach:])
