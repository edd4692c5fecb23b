from django.apps import AppConfig


class RiskConfig(AppConfig):
    name = "risk"
    verbose_name = "Risk rating and pricing"

    def ready(self) -> None:
        from applications.events import investigation_completed
        from risk.rating import rate_on_investigation

        investigation_completed.connect(rate_on_investigation, dispatch_uid="risk.rate_on_investigation")
