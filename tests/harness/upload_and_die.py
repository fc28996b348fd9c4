"""Upload one file through A's service in a process of its own that dies after the commit.

``python -m harness.upload_and_die NAME INDEX`` from system_a/, with A's environment and
CROSSLINK_CHAOS_DEATHS pointing at a counter (see harness.die_before_send): the row is
committed as its first attempt and the process is SIGKILLed by the send that follows.
"""

import sys

import django


def main() -> None:
    name, index = sys.argv[1], int(sys.argv[2])
    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile

    import config.celery  # noqa: F401 - A's Celery app, as in A's web process
    import harness.die_before_send  # noqa: F401 - the fault
    from files import services
    from harness.chaos import good_csv

    services.file_create(upload=SimpleUploadedFile(name, good_csv(index)))
    print("the upload's send did not kill this process", file=sys.stderr)
    sys.exit(3)


if __name__ == "__main__":
    main()
