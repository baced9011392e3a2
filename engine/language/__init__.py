"""The rule language: YAML with positions, the schema check, the entity catalogues,
lookup tables, the rule model and its layers, loading a pack (and, for one flow, only
what it needs, cached by file content: `flowcache`), the dependency graph and dbt-style
selectors, and exact JSON (`jsonio`).

May import: `engine.errors`, `engine.expressions` (a rule compiles its expressions) and
the `schemas` data package. Nothing of mapping, state, sync or connectors.
"""
