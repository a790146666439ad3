from django.urls import path
from floor import views

urlpatterns = [
    path("request", views.request_code),
    path("verify", views.verify_code),
]
