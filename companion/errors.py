"""One exception family; every message is one line that starts with the input it concerns."""


class CompanionError(Exception):
    """A user-facing error: bad input, a missing tool, a failed stage."""


class ConfigError(CompanionError):
    """companion.toml or a command-line setting is wrong."""


class FeedError(CompanionError):
    """A source feed cannot be read or is not a podcast feed."""


class CatalogError(CompanionError):
    """The topic catalog is invalid."""


class MathSpeechError(CompanionError):
    """A LaTeX equation cannot be spoken (malformed or unsupported)."""


class RenderError(CompanionError):
    """A lesson script cannot be rendered."""


class SynthError(CompanionError):
    """Speech synthesis or audio encoding failed."""


class PublishError(CompanionError):
    """A feed, page or upload cannot be written."""
