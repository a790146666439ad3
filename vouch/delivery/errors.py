class DeliveryError(Exception):
    """A backend could not hand a message over. `temporary` errors are worth retrying."""

    def __init__(self, message: str, *, temporary: bool = False) -> None:
        super().__init__(message)
        self.temporary = temporary
