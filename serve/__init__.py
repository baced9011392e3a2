"""`joist serve`: one process that keeps a project in sync by itself.

Webhook receivers (`webhooks`) verify each delivery and commit its events to the durable
inbox before answering; the worker (`worker`) takes them, coalesces them per record and
runs targeted syncs through the same engine code as `joist sync`, with a polling fallback
by cursor; registration (`registration`) makes both systems deliver here; health and
Prometheus metrics (`metrics`) say how it is doing; `app` puts it together as one ASGI
application served by uvicorn.

May import: `engine` (project, sync, state), `connectors`. Nothing imports `serve` but
the faces (`cli.py`).
"""
