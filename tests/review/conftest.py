from tests.applications.support import ctx  # noqa: F401  (fixture)
