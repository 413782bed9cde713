"""Typed errors, each with one sentence a designer understands.

Every error the core or a provider raises derives from :class:`InpaintError`. Its
``str()`` is the user-facing sentence; ``exit_code`` is what ``inpaint-studio edit`` exits
with (0 success, 1 provider or network failure, 2 invalid input, 3 every variant withheld).
"""

from __future__ import annotations

from dataclasses import dataclass


class InpaintError(Exception):
    """Base of every error Inpaint Studio reports to a user.

    ``str(err)`` is a single sentence; ``details`` holds technical context (status codes,
    server text) for a "copy details" button, never secrets.
    """

    exit_code = 1

    def __init__(self, message: str, *, details: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    # Every sentence and its details pass the one sanitising path (core/textsafe.py): keys
    # redacted, control characters removed, the sentence on one line — whoever sets them.
    @property
    def message(self) -> str:
        return self._message

    @message.setter
    def message(self, value: str) -> None:
        from .textsafe import clean

        self._message = clean(value, limit=4000)
        self.args = (self._message,)

    @property
    def details(self) -> str:
        return self._details

    @details.setter
    def details(self, value: str) -> None:
        from .textsafe import clean

        self._details = clean(value, limit=200_000, one_line=False)

    def __str__(self) -> str:
        return self._message


# --- invalid input (exit 2) -------------------------------------------------------------


class InvalidInput(InpaintError):
    """The user's file, mask or parameters cannot be used (exit status 2)."""

    exit_code = 2


class ImageLoadError(InvalidInput):
    """A file is missing, truncated, not an image, or too large to decode safely."""


class MaskError(InvalidInput):
    """A mask has the wrong size or selects no pixel to edit."""


@dataclass(frozen=True)
class Problem:
    """One broken rule: ``field`` is the request field's name, ``message`` one sentence."""

    field: str
    message: str


class ValidationError(InvalidInput):
    """One or more rules of the request are broken; ``problems`` lists each of them."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(" ".join(p.message for p in self.problems))


# --- provider and network failures (exit 1) --------------------------------------------


class ProviderError(InpaintError):
    """The provider or the network failed; ``status`` is the HTTP status when there was one."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None, details: str = "") -> None:
        super().__init__(message, details=details)
        self.status = status


class AuthenticationError(ProviderError):
    """401: the API key was refused."""


class MissingKeyError(ProviderError):
    """No API key is configured for a provider that needs one."""

    exit_code = 2


class OutOfCreditsError(ProviderError):
    """402: the account has no credits left or hit its plan limit."""


class NoAccessError(ProviderError):
    """403: the key is valid but may not use this model or endpoint."""


class InvalidRequestError(ProviderError):
    """400/422: the provider refused the request; the message carries the server's words."""


class SafetyRefusalError(ProviderError):
    """422: the provider's safety filter refused the prompt or image."""


class RateLimitedError(ProviderError):
    """429: too many requests or images in flight; ``retry_after`` in seconds when given."""

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        status: int | None = 429,
        details: str = "",
        retry_after: float | None = None,
        reject_reason: str | None = None,
    ) -> None:
        super().__init__(message, status=status, details=details)
        self.retry_after = retry_after
        self.reject_reason = reject_reason
        #: the account's limit of images in flight, when the answer said it
        self.max_inflight: int | None = None


class ServerError(ProviderError):
    """5xx: the provider failed; 502/503/504 are retried."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        details: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, details=details)
        self.retry_after = retry_after
        self.retryable = status in (502, 503, 504)


class NetworkError(ProviderError):
    """The provider could not be reached (DNS, refused connection, TLS, reset)."""

    retryable = True


class ProviderTimeoutError(ProviderError):
    """The provider did not answer in time before the upload completed."""

    retryable = True


class MaybeBilledError(ProviderError):
    """The upload completed but no answer came in time: the job may have run and been billed.

    Never retried automatically, so a user is not charged twice.
    """


class DownloadError(ProviderError):
    """A result link could not be downloaded or did not hold a valid image."""


class InsecureURLError(InvalidInput):
    """A base or result URL uses plain http on a host that is not loopback."""


class AllWithheldError(ProviderError):
    """The provider answered, but its safety filter withheld every variant (exit 3)."""

    exit_code = 3


class JobCancelledError(InpaintError):
    """The user cancelled the job."""
