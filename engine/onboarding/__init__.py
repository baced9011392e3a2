"""Onboarding: the wizard's steps as engine code, with no terminal or web in them.

It owns matching the records that already exist on both sides (`matching`, with the marks
other connectors leave in `marks`), the user's decisions on them and the links they become
(`decisions`), importing another connector's mapping (`transfer`), the params questions
with choices read live (`questions`), and the steps with their progress kept in the state
store so each can be resumed (`steps`). The terminal (`joist onboard`) and the web wizard
only render what it returns.

May import: errors, expressions, language, mapping, state, sync, project, reports and
connectors; nothing imports it but the faces.
"""
