"""Joist's engine: rules in, exact writes out. Importing `engine` loads nothing.

Sub-packages by role, importing one way only (each may import those listed before it):
`errors` (the error base, stdlib only) <- `language` <- `expressions` <- `mapping`
<- `state` <- `sync` <- `project` <- `reports` <- `testing`. `connectors` sit beside
`state`, below `sync`. Nothing here imports a face (`cli`, `terminal`) or the sandboxes.
"""
