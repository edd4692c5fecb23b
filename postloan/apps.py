from django.apps import AppConfig


class PostloanConfig(AppConfig):
    name = "postloan"
