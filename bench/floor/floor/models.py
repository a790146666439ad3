from django.db import models


class Challenge(models.Model):
    phone = models.CharField(max_length=20)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    consumed_at = models.DateTimeField(null=True)

    class Meta:
        app_label = "floor"
        indexes = [models.Index(fields=["phone", "-created_at", "-id"], name="floor_newest_idx")]

    def __str__(self) -> str:
        return self.phone


class User(models.Model):
    phone = models.CharField(max_length=20, unique=True)
    date_joined = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "floor"

    def __str__(self) -> str:
        return self.phone
