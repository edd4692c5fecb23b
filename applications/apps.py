from django.apps import AppConfig


class ApplicationsConfig(AppConfig):
    name = "applications"

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from applications import listing, work
        from applications.models import Product
        from loancenter.models import User

        work.register_work()  # the open work a hand-over moves (SPEC §13)
        # The loan lists' filter options (products, marketing officers) are kept in the cache: read them again when
        # either changes (applications.listing.filter_options).
        for model in (Product, User):
            post_save.connect(listing.refresh_options, sender=model, dispatch_uid=f"listing-options-{model.__name__}")
            post_delete.connect(listing.refresh_options, sender=model,
                                dispatch_uid=f"listing-options-del-{model.__name__}")
        m2m_changed.connect(listing.refresh_options, sender=User.groups.through, dispatch_uid="listing-options-groups")
