"""Sign-in security pages: the second factor, the session's status, passwords."""

from django.urls import path

from kapcare.accounts import views

app_name = "accounts"

urlpatterns = [
    path("account/second-factor/", views.second_factor, name="second_factor"),
    path("account/second-factor/recovery-codes/", views.recovery_codes, name="recovery_codes"),
    path("account/verify/", views.verify, name="verify"),
    path("account/session/", views.session_status, name="session_status"),
    path("account/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "account/password/changed/",
        views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path(
        "account/password/forgotten/",
        views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "account/password/forgotten/sent/",
        views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "account/password/new/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "account/password/new/done/",
        views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
