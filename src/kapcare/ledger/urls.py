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
]
