from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from files.uploads import upload_limit_message


class UploadForm(forms.Form):
    file = forms.FileField(help_text="CSV, TSV or JSON Lines with a header row.")

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        if (upload.size or 0) > settings.MAX_UPLOAD_BYTES:
            raise forms.ValidationError(upload_limit_message(upload.size))
        return upload
