"""User-facing errors: one type per kind of mistake, each with a message a user understands.

The UI shows ``str(err)`` with ``st.error``; the CLI prints it on one line and exits non-zero. Each type also says
whether trying the same work again can change the outcome (``retryable``): a batch retries only those.
"""

from __future__ import annotations


class VigilError(Exception):
    """Base class for every error Vigil reports to a user (never a bug).

    ``retry_helps``: whether the same work, tried again unchanged, may pass (the network, the disk, an interrupted
    run); False where it fails the same way every time until someone fixes the input or the setup."""

    retry_helps: bool = True


# --- video sources ---------------------------------------------------------------------------
class SourceError(VigilError):
    """The input could not be turned into frames."""


class EmptyFileError(SourceError):
    """A zero-byte file."""

    retry_helps = False  # the same bytes, the same failure


class NotAVideoError(SourceError):
    """The bytes are not a video this build can decode (text renamed .mp4, corrupt header...)."""

    retry_helps = False  # the same bytes, the same failure


class StillImageError(SourceError):
    """A single picture was given where a video was expected."""

    retry_helps = False  # the same bytes, the same failure


class TooFewFramesError(SourceError):
    """The video decodes to fewer frames than an analysis needs."""

    retry_helps = False  # the same bytes, the same failure


class BadURLError(SourceError):
    """The text typed into the link field is not a downloadable http(s) link."""

    retry_helps = False  # the same text, the same refusal


class NetworkError(SourceError):
    """The host cannot be reached (offline, DNS failure, refused connection, timeout)."""


class UnavailableVideoError(SourceError):
    """The site answered but the video is private, removed, geo-blocked or needs a login."""

    retry_helps = False  # the site refuses it until its owner changes it


class NotAVideoLinkError(SourceError):
    """The link answered but points at no video."""

    retry_helps = False  # the same page, no video on it


class TooLongError(SourceError):
    """The video is longer, or larger, than the configured limits."""

    retry_helps = False  # the limits do not change between tries


class SourceGoneError(SourceError):
    """An analysis cannot run again: its video was deleted, or its link needs a login that is not kept."""

    retry_helps = False  # what it needs is gone


# --- models ----------------------------------------------------------------------------------
class ModelError(VigilError):
    """A model cannot be used."""

    retry_helps = False  # a missing or unknown model stays missing until installed


class UnknownModelError(ModelError):
    """No model is registered under that name."""


class ModelUnavailableError(ModelError):
    """The model is registered but its weights (or a runtime package) are missing here."""


class ModelNotFittedError(ModelError):
    """A scorer that needs fitting on normal footage was used before it was fitted."""


# --- everything else -------------------------------------------------------------------------
class AnalysisCancelled(VigilError):
    """The user pressed cancel; nothing was stored."""


class ConfigError(VigilError):
    """A setting is out of range or of the wrong type."""

    retry_helps = False  # a setting must be changed first


class StorageError(VigilError):
    """The data folder cannot be written: missing, read-only, full, or the database refuses writes."""


class EmailError(VigilError):
    """An email could not be sent (server unreachable, login refused, message rejected, bad setting)."""


class EmailNotConfiguredError(EmailError):
    """No SMTP server or recipient is configured."""


class NotFoundError(VigilError):
    """A stored record (analysis, label, alert) does not exist."""

    retry_helps = False  # the record is gone


class DataError(VigilError):
    """A dataset, labels file or CSV is malformed."""

    retry_helps = False  # the file must be fixed first


class ClusterUnreachableError(VigilError):
    """The compute cluster (RAY_ADDRESS) does not answer, or cannot give the workers asked for."""


def retryable(err: BaseException) -> bool:
    """Whether trying the failed work again, unchanged, may pass: a ``VigilError`` says so by its type
    (``retry_helps``); any other exception (a timeout, an OS or memory failure, a bug a fix may remove) may."""
    return err.retry_helps if isinstance(err, VigilError) else True
