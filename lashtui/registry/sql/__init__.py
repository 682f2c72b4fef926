"""The registry's transactions as plain SQL functions, shared by the SQLite and PostgreSQL
stores (see `dialect` for what a connection must offer, and `store` for the one registry
class both stores build on)."""
