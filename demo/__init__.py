"""Demo seeding: staff, products, customers and loans in every state, post-loan history, archive files."""
