from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile


class UploadForm(forms.Form):
    file = forms.FileField(help_text="CSV with a header row.")

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        if (upload.size or 0) > settings.MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size:,} bytes; the limit is {settings.MAX_UPLOAD_BYTES:,}."
            )
        return upload
