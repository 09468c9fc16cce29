"""Training-ready exports of a run (Alpaca, ShareGPT, OpenAI chat, Parquet, HF datasets), its card and a validator."""
