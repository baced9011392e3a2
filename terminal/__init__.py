"""The terminal face of `cli.py`: rich tables and text for rules and the graph (`rules`),
plans, syncs, status and failures (`runs`), reconciliations (`reconcile`), and the
generated command reference (`clidoc`). Imports the engine; the engine never imports it.
"""
