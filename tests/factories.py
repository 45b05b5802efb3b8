import factory
from factory.django import DjangoModelFactory

from users.models import Region, Role, User


class CustomerFactory(DjangoModelFactory):
    """A customer stored the way the services store one (values already normalised)."""

    class Meta:
        model = User

    phone = factory.Sequence(lambda n: f"+23324{n:07d}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    shipping_mark = factory.Sequence(lambda n: f"PM TEST {n}")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    region = Region.GREATER_ACCRA
    user_role = Role.CUSTOMER
    is_verified = True
    password = None

    @classmethod
    def _create(cls, model_class, *args, password=None, **kwargs):
        user = model_class(*args, **kwargs)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        return user


class StaffFactory(CustomerFactory):
    user_role = Role.ADMIN
    phone = factory.Sequence(lambda n: f"+23320{n:07d}")
    shipping_mark = factory.Sequence(lambda n: f"PM STAFF {n}")
    email = factory.Sequence(lambda n: f"staff{n}@example.com")
    password = "staff-password-1"
