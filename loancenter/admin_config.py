"""The admin app, with a site that admits posts rather than Django's is_staff flag (loancenter/admin_site.py).

Kept apart from loancenter/apps.py so that module keeps exactly one AppConfig.
"""

from django.contrib.admin.apps import AdminConfig


class LoanCenterAdminConfig(AdminConfig):
    default_site = "loancenter.admin_site.LoanCenterAdminSite"
