from django.apps import AppConfig


class ApplicationsConfig(AppConfig):
    name = "applications"

    def ready(self) -> None:
        from applications import work

        work.register_work()  # the open work a hand-over moves (SPEC §13)
