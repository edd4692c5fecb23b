from django.apps import AppConfig


class ApplicationsConfig(AppConfig):
    name = "applications"

    def ready(self) -> None:
        from applications import signals  # noqa: F401  (receivers: the kernel's leaving_post)
