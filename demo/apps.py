from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data (``manage.py seed_demo``, run by ``make run``), loaded through the real services.

    Nothing in the production apps imports it: it sits on top of every app (the import-linter contract).
    """

    name = "demo"
