"""What Joist remembers between runs: links, cursors, runs, failures, intents, tokens.

`store` is the SQLite backend behind the store interface (the seam another backend plugs
into), `records` its row types and keys, `migrations` the schema versions, `lock` the
project's run lock (one run per project) kept in the store.

May import: `engine.errors` only.
"""
