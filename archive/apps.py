from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ArchiveConfig(AppConfig):
    name = "archive"
    verbose_name = _("Archive")

    def ready(self):
        from archive import signals, work  # noqa: F401

        work.register_work()  # the files a hand-over moves (SPEC §13)
