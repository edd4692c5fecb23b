"""Print the schemathesis counts at the end of a run that fuzzed."""


def pytest_terminal_summary(terminalreporter):
    from tests.fuzz import test_api_schema

    if test_api_schema.STATS:
        terminalreporter.write_line(test_api_schema.summary())
