"""Model backends behind one small interface, with caching, retries and token accounting."""
