"""Self-Instruct's pure parts: task grouping, the task pool, prompt building, reply parsing and filters."""
