"""What Joist remembers between runs: links, cursors, runs, failures, intents, tokens.

`store` is the store (`State`) behind the store interface, on a `driver` (the few things
SQLite and PostgreSQL do differently): `sqlite` the embedded file, `postgres` a schema of
a PostgreSQL database; `backends` picks one from `state:`. `records` holds the row types
and keys, `migrations` the schema versions (one list for both), `lock` the project's run
lock kept in the store, `inbox` the service's events, `registry` a deployment's
connections (one schema each) and `secrets` their OAuth tokens, encrypted at rest.

May import: `engine.errors` only (and psycopg / cryptography, the `scale` extra, in `postgres` and `secrets`).
"""
