from django.urls import path

from kapcare.accounts import views_tokens

app_name = "tokens"

urlpatterns = [
    path("account/tokens/", views_tokens.all_tokens, name="all"),
    path("account/tokens/<int:token_id>/revoke/", views_tokens.revoke, name="revoke"),
]
