"""Who is asking: every view of A serves a logged-in user and their own files only."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied


def request_owner(user: User | AnonymousUser) -> User:
    """The logged-in user a request is for. Views are already guarded by ``login_required`` or
    DRF's ``IsAuthenticated``; this turns a slip in that guard into a 403, never a leak."""
    if not isinstance(user, get_user_model()) or not user.is_authenticated:
        raise PermissionDenied
    return user
