"""The LPR publication register (贷款市场报价利率, SPEC §15, §16.32) and what LPR-linked pricing reads from it."""
