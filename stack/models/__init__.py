"""Models as facts: the committed lock (digest, size, architecture) and the memory fit it proves."""
