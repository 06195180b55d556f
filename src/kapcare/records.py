"""What signed clinical records share, in one place: a note locks once signed (later changes
are amendments), an amendment is never changed, and such records are never deleted. Mixins for
Django models (behaviour only; each model keeps its own fields)."""

from __future__ import annotations

from typing import Any


class ImmutableError(Exception):
    """Raised when code tries to change a signed record."""


class LockedOnceSigned:
    """A note whose stored ``signed_at`` is set refuses every later save and any delete."""

    pk: Any

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            stored = (
                type(self).objects.filter(pk=self.pk).values_list("signed_at", flat=True).first()  # type: ignore[attr-defined]  # mixed into a model
            )
            if stored is not None:
                raise ImmutableError("A signed note cannot change; add an amendment instead.")
        super().save(*args, **kwargs)  # type: ignore[misc]  # the model's save

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableError("A note cannot be deleted; it stays in the record.")


class AppendOnly:
    """A row (an amendment) written once and never changed or deleted."""

    pk: Any

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ImmutableError("An amendment cannot change; add another amendment.")
        super().save(*args, **kwargs)  # type: ignore[misc]  # the model's save

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableError("An amendment cannot be deleted.")
