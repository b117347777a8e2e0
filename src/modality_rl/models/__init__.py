"""The Decision Transformer and the GPT bodies it is built on."""
