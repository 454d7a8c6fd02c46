"""User-facing errors: one type per kind of mistake, each with a message a user understands.

The UI shows ``str(err)`` with ``st.error``; the CLI prints it on one line and exits non-zero.
"""

from __future__ import annotations


class VigilError(Exception):
    """Base class for every error Vigil reports to a user (never a bug)."""


# --- video sources ---------------------------------------------------------------------------
class SourceError(VigilError):
    """The input could not be turned into frames."""


class EmptyFileError(SourceError):
    """A zero-byte file."""


class NotAVideoError(SourceError):
    """The bytes are not a video this build can decode (text renamed .mp4, corrupt header...)."""


class StillImageError(SourceError):
    """A single picture was given where a video was expected."""


class TooFewFramesError(SourceError):
    """The video decodes to fewer frames than an analysis needs."""


class BadURLError(SourceError):
    """The text typed into the link field is not a downloadable http(s) link."""


class NetworkError(SourceError):
    """The host cannot be reached (offline, DNS failure, refused connection, timeout)."""


class UnavailableVideoError(SourceError):
    """The site answered but the video is private, removed, geo-blocked or needs a login."""


class NotAVideoLinkError(SourceError):
    """The link answered but points at no video."""


class TooLongError(SourceError):
    """The video is longer, or larger, than the configured limits."""


class SourceGoneError(SourceError):
    """An analysis cannot run again: its video was deleted, or its link needs a login that is not kept."""


# --- models ----------------------------------------------------------------------------------
class ModelError(VigilError):
    """A model cannot be used."""


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


class StorageError(VigilError):
    """The data folder cannot be written: missing, read-only, full, or the database refuses writes."""


class EmailError(VigilError):
    """An email could not be sent (server unreachable, login refused, message rejected, bad setting)."""


class EmailNotConfiguredError(EmailError):
    """No SMTP server or recipient is configured."""


class NotFoundError(VigilError):
    """A stored record (analysis, label, alert) does not exist."""


class DataError(VigilError):
    """A dataset, labels file or CSV is malformed."""


class ClusterUnreachableError(VigilError):
    """The compute cluster (RAY_ADDRESS) does not answer, or cannot give the workers asked for."""
