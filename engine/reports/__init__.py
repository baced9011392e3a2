"""Reports as data: `explain` (one record, field by field) and the reconciliations of
contracts and invoices (`reconcile`) and of job cost (`job_cost`), with what both share
(`figures`). No click or rich: the faces render these.

May import everything in `engine` below it and `connectors`.
"""
