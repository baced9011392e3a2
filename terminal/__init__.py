"""The terminal face of `cli.py`: rich tables and text for rules and the graph (`rules`),
plans, syncs, status and failures (`runs`), reconciliations (`reconcile`), the
generated command reference (`clidoc`), `joist sandbox` (`sandbox_cli`) and `make demo`
(`demo`), the glue that needs both Joist and the sandboxes. Imports the engine and the
sandboxes; neither imports it.
"""
