"""The ledger's forms: what a page parses before it calls a service. The rules are the
services'; these only turn text into values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils import timezone

from kapcare.courses.models import Resource
from kapcare.ledger.models import (
    Container,
    Form,
    InventoryKind,
    InventoryTiming,
    LocationKind,
    LossType,
    Product,
    Registration,
    StorageLocation,
)
from kapcare.ledger.services import PRODUCT_ROUTES


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
    # Today: the service counts the stock on hand now, so an inventory is dated the day taken.
    taken_on = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}), initial=timezone.localdate
    )
    timing = forms.ChoiceField(choices=InventoryTiming.choices)


class AdjustmentForm(forms.Form):
    """A movement other than a receipt or a withdrawal. Witnesses sign in on the same page: a
    breakage needs one, a destruction two (DEA Form 41); a loss carries its Form 106 details."""

    container = forms.ModelChoiceField(
        Container.objects.filter(balance_mg__gt=0).select_related("product").order_by("label")
    )
    kind = forms.ChoiceField(
        choices=[
            ("transfer", "Transfer to another location"),
            ("return", "Return to the supplier"),
            ("breakage", "Breakage or spill (witnessed)"),
            ("set_aside", "Set aside (expired or damaged)"),
            ("destruction", "Destruction (DEA Form 41, two witnesses)"),
            ("loss", "Theft or significant loss (DEA Form 106)"),
        ]
    )
    quantity_ml = forms.DecimalField(
        required=False, decimal_places=2, min_value=0, help_text="mL; none for a nasal device"
    )
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    manner = forms.CharField(max_length=200, required=False, help_text="How it was destroyed")
    to_location_id = forms.ModelChoiceField(
        StorageLocation.objects.order_by("name"), required=False, label="To location"
    )
    witness_email = forms.EmailField(required=False, label="Witness's email")
    witness_password = forms.CharField(
        required=False, label="Witness's password", widget=forms.PasswordInput
    )
    second_witness_email = forms.EmailField(required=False, label="Second witness's email")
    second_witness_password = forms.CharField(
        required=False, label="Second witness's password", widget=forms.PasswordInput
    )
    loss_type = forms.ChoiceField(choices=[("", "—"), *LossType.choices], required=False)
    discovered_at = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    police_notified = forms.NullBooleanField(required=False, label="Police notified")
    police_report = forms.CharField(max_length=200, required=False)
    description = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What happened (a theft or loss)",
    )  # fmt: skip


# --- the set-up ----------------------------------------------------------------------------


def _date(label: str) -> forms.DateField:
    return forms.DateField(label=label, widget=forms.DateInput(attrs={"type": "date"}))


class RegistrationForm(forms.Form):
    name = forms.CharField(max_length=200, label="Registrant's name")
    address = forms.CharField(
        max_length=1000, label="Registered address", widget=forms.Textarea(attrs={"rows": 2})
    )
    dea_number = forms.CharField(max_length=20, label="DEA number")
    expires_on = _date("Registration expires on")


class RenewalForm(forms.Form):
    expires_on = _date("New expiry date")


class ServesForm(forms.Form):
    """The rooms and chairs a location stocks, as checkboxes (big touch targets on a tablet,
    ``.staff-picker`` in kapcare.css). The choices come from the page's one read of the rooms
    and chairs, so a page of many locations does not read them once per location."""

    serves = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        label="Rooms and chairs it stocks",
        help_text="A session in a room or chair ticked here draws only from the locations "
        "stocking it; one that no location stocks draws from any.",
        widget=forms.CheckboxSelectMultiple(attrs={"class": "staff-picker"}),
    )

    def __init__(self, *args: Any, resources: Sequence[Resource], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["serves"].choices = [  # type: ignore[attr-defined]  # a choice field
            (r.pk, f"{r.name} ({r.get_kind_display()}{'' if r.active else ', not in use'})")
            for r in resources
        ]


class LocationForm(ServesForm):
    # Most clinics have one registration: it is chosen already.
    registration = forms.ModelChoiceField(Registration.objects.order_by("name"), empty_label=None)
    name = forms.CharField(max_length=100, help_text="For example Main safe, Infusion cart")
    kind = forms.ChoiceField(choices=LocationKind.choices)

    field_order = ["registration", "name", "kind", "serves"]


class NdcForm(forms.Form):
    ndc = forms.CharField(
        max_length=13,
        label="NDC",
        help_text="As printed on the package, with its hyphens (for example 12345-6789-01)",
    )


class ProductForm(NdcForm):
    """A vial is described by its strength and volume, a nasal device by its dose (the service
    refuses a strength the form does not take, naming it)."""

    name = forms.CharField(max_length=120, help_text="As on the package")
    form = forms.ChoiceField(choices=Form.choices)
    mg_per_ml = forms.DecimalField(
        required=False, decimal_places=2, label="Strength (mg per mL)", help_text="A vial"
    )
    ml_per_container = forms.DecimalField(
        required=False, decimal_places=2, label="Volume of a vial (mL)", help_text="A vial"
    )
    mg_per_device = forms.DecimalField(
        required=False, decimal_places=2, label="Dose of a device (mg)", help_text="A device"
    )
    route = forms.ChoiceField(choices=list(PRODUCT_ROUTES.items()), label="Used for")

    field_order = ["name", "ndc", "form", "mg_per_ml", "ml_per_container", "mg_per_device"]
