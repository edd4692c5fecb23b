from tests.archive.conftest import _english, active  # noqa: F401  (archive fixtures: a disbursed loan with its file)
from tests.postloan.test_collections import loan, t1_case  # noqa: F401  (an active loan's T1 collection case)
