"""PostgreSQL, with a cheaper check of kept connections (see base.py)."""
