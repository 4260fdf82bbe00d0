"""The public statistics: rollup tables kept by the worker (rollups.py) and the figures read from
them for a period (figures.py). Reads published and counted facts only; no page lives here."""
