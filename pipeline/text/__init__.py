"""Text algorithms stages share: tokenisation, similarity, novelty indexes."""
