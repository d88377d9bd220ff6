"""Poetics: every form as a pattern, rhyme books, tones, 对仗 and coherence tables; check and
suggest over a pattern."""
