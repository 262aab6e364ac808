"""The Amazon States Language interpreter: pure (no HTTP, no SQL), data in and data out."""
