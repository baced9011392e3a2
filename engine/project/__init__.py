"""A project on disk and opened for a command: joist.yaml (`config`), which rules a command
works on (`workspace`), the session that opens rules, state and connectors together
(`session`), opening connectors (`connections`), the browser sign-in (`connect`) and how
runs meet each other, rate limits and outages (`settings`, joist.yaml's `runs:`).

May import everything in `engine` below it (language to sync) and `connectors`.
"""
