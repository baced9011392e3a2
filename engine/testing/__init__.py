"""Rule tests: the pytest plugin that collects `*.test.yaml` beside each rule (`plugin`).

May import everything in `engine` below it.
"""
