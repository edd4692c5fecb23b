from django.apps import AppConfig


class DisbursementConfig(AppConfig):
    name = "disbursement"
