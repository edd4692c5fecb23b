from django.apps import AppConfig


class LoancenterConfig(AppConfig):
    name = "loancenter"
    verbose_name = "个贷中心"

    def ready(self):
        from loancenter import checks, signals  # noqa: F401
