"""Input field types every endpoint shares: a JSON value is taken only as the type the schema
gives it. DRF's own fields coerce (the number 5 becomes the text "5", 1 and "yes" become True),
so a client generated from the schema and a client that ignores it would be answered alike,
and the schema would not say what the server takes."""

from django.core import validators
from rest_framework import serializers

NOT_TEXT = "Not a valid string."
NOT_BOOLEAN = "Must be true or false."


class StrictCharField(serializers.CharField):
    """Text, and only text: a number, list, object or boolean is a 400 `invalid`."""

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """JSON true or false; nothing else (DRF's field also takes 1, "yes", "on" ...)."""

    default_error_messages = {"invalid": NOT_BOOLEAN}

    def to_internal_value(self, data: object) -> bool:
        if data is True or data is False:
            return data
        self.fail("invalid")


class TooLongValidator(validators.MaxLengthValidator):
    """MaxLengthValidator under the code and wording of the customer rules (`too_long`), which
    drf-spectacular documents as `maxLength`."""

    code = "too_long"
    message = "At most %(limit_value)d characters (this has %(show_value)d)."
