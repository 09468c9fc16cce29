"""Pipeline stages: each a small class over records, registered in `registry.py`."""
