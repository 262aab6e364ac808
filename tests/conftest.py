# The project's own tests use the fixtures it ships to users (haneul/testing.py).
pytest_plugins = ["haneul.testing"]
