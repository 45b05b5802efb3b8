"""The safety net under password_store: a save that replaces a user's stored password hash by
any other path (Django's `changepassword` command, a form or script that calls set_password and
save) still ends the account's sessions. QuerySet.update() sends no signal: code here never sets
a password that way."""

from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from users.credentials.services import sessions_revoke
from users.models import User


@receiver(pre_save, dispatch_uid="credentials-password-replaced")
def _note_a_replaced_password(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or not isinstance(instance, User) or instance._state.adding:
        return
    if update_fields is not None and "password" not in update_fields:
        return
    stored = User.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    instance._password_replaced = stored is not None and stored != instance.password


@receiver(post_save, dispatch_uid="credentials-sessions-end")
def _end_sessions_of_a_replaced_password(sender, instance, created=False, **kwargs):
    if getattr(instance, "_password_replaced", False):
        instance._password_replaced = False
        sessions_revoke(user=instance)
