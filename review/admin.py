"""Review and approval keep no models of their own: the reviewer's proposal and the decision are fields of
``applications.Loan``, shown read-only in its admin page (applications/admin.py)."""
