"""gunicorn for bench/documents.py: everything on its command line (the project's gunicorn.conf.py is for the service)."""
