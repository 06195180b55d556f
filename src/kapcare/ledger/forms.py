"""The ledger's forms: what a page parses before it calls a service. The rules are the
services'; these only turn text into values."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from kapcare.ledger.models import (
    Container,
    InventoryKind,
    InventoryTiming,
    Product,
    StorageLocation,
)


class ReceiptForm(forms.Form):
    """The supplier's inputs are named as the service names them (``supplier.dea_number``), so
    a refusal lands on its input."""

    product = forms.ModelChoiceField(Product.objects.order_by("name"), to_field_name="ndc")
    location = forms.ModelChoiceField(StorageLocation.objects.order_by("name"))
    invoice = forms.CharField(max_length=60, label="Invoice number")
    lot = forms.CharField(max_length=40)
    expires_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    containers = forms.IntegerField(min_value=1, help_text="Vials or devices received")
    received_at = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), initial=timezone.now
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["supplier.name"] = forms.CharField(max_length=200, label="Supplier")
        self.fields["supplier.address"] = forms.CharField(
            max_length=1000, label="Supplier's address", widget=forms.Textarea(attrs={"rows": 2})
        )
        self.fields["supplier.dea_number"] = forms.CharField(
            max_length=20, label="Supplier's DEA number"
        )


class SecondPersonForm(forms.Form):
    """A second staff member signs in on the same tablet (a witness or second counter)."""

    second_email = forms.EmailField(label="Second person's email")
    second_password = forms.CharField(
        label="Second person's password", widget=forms.PasswordInput(render_value=False)
    )


class CountForm(SecondPersonForm):
    """One input per container on hand (named as the service names it, ``found[id]``): mL
    found in a vial, or 1/0 for a device."""

    def __init__(self, *args: Any, containers: list[Container], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.containers = containers
        for container in containers:
            device = container.product.mg_per_device is not None
            self.fields[f"found[{container.pk}]"] = forms.DecimalField(
                label=f"{container.label} ({container.product.name}, lot {container.lot})",
                decimal_places=2,
                min_value=0,
                help_text="1 if the device is there, 0 if not" if device else "mL found",
            )

    def found(self) -> dict[int, Any]:
        return {c.pk: self.cleaned_data[f"found[{c.pk}]"] for c in self.containers}


class ResolveForm(forms.Form):
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class LossFiledForm(forms.Form):
    dea_reference = forms.CharField(max_length=60, required=False, label="DEA reference")


class InventoryForm(forms.Form):
    kind = forms.ChoiceField(choices=InventoryKind.choices)
    taken_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    timing = forms.ChoiceField(choices=InventoryTiming.choices)
