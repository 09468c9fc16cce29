"""Pure building blocks of Evol-Instruct (Xu et al., 2023): operation choice, prompts, parsing, elimination."""
