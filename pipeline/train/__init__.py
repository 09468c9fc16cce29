"""The bundled minimal SFT trainer (PyTorch + transformers)."""
