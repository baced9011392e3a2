"""A local QuickBooks Online (Accounting API v3 and Intuit OAuth 2.0) for tests and demos.

`sandbox.qbo.app.create_sandbox()` builds it; `joist sandbox up qbo` serves it on
127.0.0.1:8720. Modules: `app` (HTTP and limits), `ops` (entity operations), `validate`
(input cleaning, names, references), `compute` (lines, tax, totals), `links` (LinkedTxn
both ways, balances), `query` (the query language), `batch`, `oauth`, `uploads`,
`webhooks`, `store` (state and persistence), `seed` (demo companies), `faults`, `codec`
(JSON with Decimal amounts).
"""
