"""The web face of Joist: the dashboard served by `joist serve` (same process, same state).

Sign-in and safety (`security`: password hashes, signed session cookies, CSRF; `accounts`:
users, roles, the audit log, layouts and the sign-in rate limit, all in the state store),
languages (`i18n`: gettext catalogues in `locale/`, Babel formats), the pages (`pages`,
`widgets`, `charts`) and the application that puts them beside the service's routes (`app`).
Templates live in `templates/`, our own CSS and a few lines of JS in `static/`.

May import: `engine` (project, reports, language, state), `connectors`, `serve`. Nothing
imports `web` but the faces (`cli.py`, `terminal/`).
"""
