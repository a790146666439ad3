from django.apps import apps
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _

# Apps of other packages whose names in the admin are not marked for translation (the names of
# their models are, and the project's catalog translates them). An app's name is no part of
# its models' migrations, so it can be replaced here.
APP_NAMES = {
    "django_tasks_database": _("Background tasks"),
    "django_rq": _("Task queues"),
}


class VouchAdminConfig(AdminConfig):
    """django.contrib.admin with VouchAdminSite (password sessions only) as the default site."""

    default_site = "vouch.ops.admin_site.VouchAdminSite"

    def ready(self) -> None:
        super().ready()
        for config in apps.get_app_configs():
            if config.label in APP_NAMES:
                config.verbose_name = APP_NAMES[config.label]
