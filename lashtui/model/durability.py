"""What a store promises to keep: lash's `DurabilityTier` (lash-core `lib.rs`).

A registry reports the tier it declares (`ProcessRegistry.durability_tier()`), and lash's
conformance suite pins it per backend: `inline` for one that lives and dies with its
process (lashtui's SQLite `:memory:`), `durable` for one that outlives it (a SQLite file, a
PostgreSQL database). A durable host refuses an inline registry (semantics §7.4b,
« durable_store_required »).
"""

from enum import StrEnum


class DurabilityTier(StrEnum):
    INLINE = "inline"
    DURABLE = "durable"
