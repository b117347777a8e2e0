"""Reproduction of Takagi 2022: pre-training modality and Decision Transformers on D4RL."""

__version__ = "0.1.0"
