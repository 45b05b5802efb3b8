"""What the project's commands print: a progress bar, and a validation error named by option."""

from django.core.exceptions import ValidationError


def progress_bar(done: int, total: int, width: int = 40) -> str:
    share = done / total if total else 1
    filled = int(share * width)
    return f"[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} {share:4.0%}"


def validation_text(error: ValidationError) -> str:
    """`--field-name: message` for each field (the option that gave it), then any other message."""
    if hasattr(error, "error_dict"):
        return "; ".join(
            f"--{field.replace('_', '-')}: {' '.join(messages)}"
            for field, messages in error.message_dict.items()
        )
    return " ".join(error.messages)
