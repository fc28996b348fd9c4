from django.apps import AppConfig


class FilesConfig(AppConfig):
    name = "files"
    verbose_name = "Uploaded files"

    def ready(self) -> None:
        # Rebuilding an exception from the result backend only finds classes whose module is
        # already imported (Backend.exception_to_python looks in sys.modules): import the
        # contract's errors in every process of A, so B's errors arrive as themselves.
        # Revoking API tokens when a password changes is a signal receiver.
        import files.api.tokens  # noqa: F401
        import shared_schema.errors  # noqa: F401
