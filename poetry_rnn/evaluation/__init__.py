"""Evaluation: perplexity, the measures of poems, the blind-reading kit."""
