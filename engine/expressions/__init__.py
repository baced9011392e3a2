"""Rule expressions: JMESPath compiled to closures (`jmes`), Jinja templates in a sandbox
(`templates`), the one function catalogue both use (`functions`), the compiled-expression
type and its load-time checks (`base`), and the dispatcher (`compiler`).

May import: `engine.errors` only. Pure: no I/O, no state.
"""
