"""Risk rating at the investigation (reading the credit-bureau register), the scorecard pages, the rate-grid
overrides and the validation report (SPEC §15). Above the post-loan app (the bureau, the installments) and the
disbursement (the vintage); the models live in ``applications.pricing``."""
