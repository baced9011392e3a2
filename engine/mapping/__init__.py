"""Turning one source record into one target payload: the field tree (`tree`), its code
generation (`codegen`, with expressions written out as Python by `inline`), the mapper (`mapper`), `source.split` groups (`split`), the
comparison with a twin and the decision it calls for (`diff`), and the offline `joist map`
stream (`stream`).

May import: `engine.errors`, `engine.language`, `engine.expressions`. Pure: no I/O, no
state, no connectors.
"""
