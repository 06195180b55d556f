from django.urls import path

from kapcare.ledger import views

app_name = "ledger"

urlpatterns = [
    path("ledger/", views.home, name="home"),
    path("ledger/receipts/new/", views.receipt, name="receipt"),
    # The record acted on is named in the query (?location=) or the form, not the path.
    path("ledger/count/", views.count, name="count"),
    path("ledger/adjustments/new/", views.adjust, name="adjust"),
    path("ledger/discrepancies/resolve/", views.resolve_discrepancy, name="discrepancy_resolve"),
    path("ledger/losses/filed/", views.loss_filed, name="loss_filed"),
    path("ledger/inventories/new/", views.inventory_take, name="inventory_take"),
    path("ledger/reports/", views.report, name="report"),
    # The set-up: one page, a form for each change posting to its own route.
    path("ledger/setup/", views.setup, name="setup"),
    path("ledger/setup/registrations/new/", views.registration_add, name="registration_add"),
    path("ledger/setup/registrations/renew/", views.registration_renew, name="registration_renew"),
    path("ledger/setup/locations/new/", views.location_add, name="location_add"),
    path("ledger/setup/locations/serves/", views.location_serves, name="location_serves"),
    path("ledger/setup/products/new/", views.product_add, name="product_add"),
    path("ledger/setup/products/ndc/", views.product_ndc, name="product_ndc"),
]
