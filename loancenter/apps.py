from django.apps import AppConfig


class LoancenterConfig(AppConfig):
    name = "loancenter"
    verbose_name = "个贷中心"

    def ready(self):
        from loancenter import signals  # noqa: F401
