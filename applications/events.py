"""What happens to a loan that apps above this one act on, without this app importing them (the layers of
pyproject.toml): Django signals, sent inside the transition's transaction."""

from __future__ import annotations

from django.dispatch import Signal

# Sent with ``loan`` (locked, saved by the transition right after) when its investigation is complete: the report
# filed on a one-person product, the co-signature agreed on a two-person one (rule 26). The risk rating is computed
# from it (risk.rating, SPEC §15): it reads the credit-bureau register of the post-loan app.
investigation_completed = Signal()
