# The project's own tests use the fixtures it ships to users (haneul/testing.py).
pytest_plugins = ["haneul.testing"]

# Counts that tests print ("[conformance] ...", "round trip: ...") are repeated at the end
# of the run, so CI's log shows them without -s.
_COUNT_PREFIXES = ("[conformance]", "round trip:")
_counts: list[str] = []


def pytest_runtest_logreport(report):
    if report.when != "call":
        return
    for line in (report.capstdout or "").splitlines():
        if line.strip().startswith(_COUNT_PREFIXES):
            _counts.append(line.strip())


def pytest_terminal_summary(terminalreporter):
    if _counts:
        terminalreporter.section("conformance and round-trip counts")
        for line in _counts:
            terminalreporter.write_line(line)
