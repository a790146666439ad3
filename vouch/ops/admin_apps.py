from django.contrib.admin.apps import AdminConfig


class VouchAdminConfig(AdminConfig):
    """django.contrib.admin with VouchAdminSite (password sessions only) as the default site."""

    default_site = "vouch.ops.admin_site.VouchAdminSite"
