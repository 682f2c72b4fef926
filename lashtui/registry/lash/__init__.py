"""Registries lash itself wrote, read-only: which layout a file has (detect.py), one decoder
per version range (v6.py; v21.py for 21 to 24) and the read-only views that put lash's
tables in the shape lashtui's shared SQL reads (view.py).

lashtui's reads are the shared SQL of `registry.sql` over its own layout (version 10). A lash
file of another version is not copied or converted: its connection gets TEMP views named
after lashtui's tables (temp objects shadow `main` ones for unqualified names), which rename
and fill columns and pass each row's JSON through its version's decoder, registered as a SQL
function. Pages, counts and lookups stay SQL over lash's own tables and indexes; only the
rows a read returns are decoded. Nothing is written to the file: the views live in the
connection's in-memory temp schema, and the connection is opened read-only (file.py).
"""
