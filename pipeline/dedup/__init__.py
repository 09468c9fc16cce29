"""Deduplication algorithms: normalisation, shingling, MinHash signatures, LSH buckets, clusters, decontamination."""
