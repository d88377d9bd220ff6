"""Writing: the request (Controls), plans and their compiled constraints, the one decoding loop,
titles, PoetryGenerator."""
