"""Engines run the unit of work (engine/worker.py) over media items and hand each result back to the
one process that writes the store. `make_engine(name)` picks one by name: inline, pool or ray."""
