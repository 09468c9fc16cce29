"""Quality filters: small independent checks that each drop a record with a reason and a measured value."""
