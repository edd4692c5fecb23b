"""Risk rating and pricing (风险评级与定价, SPEC §15, §16.30): the versioned points scorecards, the rate grid of a
product and the overrides of it.

``scoring`` is pure (facts and a card in, points, rating and reasons out); ``models`` keeps the cards, the grid rows
and the overrides; ``services`` files and approves a card version (maker ≠ checker) and checks a proposal or an
approval against the grid. What the rating reads from the credit-bureau register is gathered by ``risk.rating``,
which sits above the post-loan app that keeps the register.
"""
