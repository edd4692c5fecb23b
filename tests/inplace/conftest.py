# Archive fixtures: a disbursed loan with its file, and the same loan settled.
from tests.archive.conftest import _english, active, settled  # noqa: F401
from tests.postloan.test_collections import loan, t1_case  # noqa: F401  (an active loan's T1 collection case)
