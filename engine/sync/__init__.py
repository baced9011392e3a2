"""Running flows against the systems: the run over a flow's records (`run`), the writes
behind intents and batches (`writes`), twins, hashes and matching (`twins`), files
(`attachments`), crash points for tests (`crashpoints`) and the per-record report
(`report`).

May import: `engine.errors`, `language`, `expressions`, `mapping`, `state`, and
`connectors` (through their public methods only).
"""
