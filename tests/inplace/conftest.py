from tests.archive.conftest import _english, active  # noqa: F401  (archive fixtures: a disbursed loan with its file)
