"""The kernel: models, the workflow's rules, the database, reference data, the public projection."""
