"""The post-loan approval flows are state machines: their state changes only through the transitions they declare."""

from __future__ import annotations

import pytest

from archive.models import Destruction, Lending
from postloan.models import GradeChange, ServicingRequest, WriteOff

DECIDED = [
    (ServicingRequest, ServicingRequest.EXECUTED),
    (WriteOff, WriteOff.DONE),
    (GradeChange, GradeChange.APPLIED),
    (Lending, Lending.OUT),
    (Destruction, Destruction.DESTROYED),
]


@pytest.mark.parametrize("model, decided", DECIDED, ids=[m.__name__ for m, _s in DECIDED])
def test_a_decision_cannot_be_written_over_the_state(model, decided):
    row = model()
    with pytest.raises(AttributeError):
        row.status = decided  # only a declared transition (e.g. approve, after check_maker_checker) moves it
    assert row.status != decided

