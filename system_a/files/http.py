"""What the page and the API share about answering a request for one file."""

from django.contrib.auth.models import AnonymousUser, User
from django.http import Http404

from files import selectors
from files.models import File


def owned_file(*, user: User | AnonymousUser, pk: int) -> File:
    """The requesting user's file ``pk``, or a 404: a missing file and another user's file get
    the same answer, so ids reveal nothing. The API answers Django's ``Http404`` as its own
    ``not_found`` (files/api/errors.py)."""
    try:
        return selectors.file_get(owner=user, file_id=pk)
    except File.DoesNotExist:
        raise Http404("No such file.") from None
