"""The gateway's exception root."""


class SahayError(Exception):
    """Base of every error the gateway raises on purpose."""


class RasaUnavailable(SahayError):
    """Rasa could not be reached or did not answer in time; the message waits for a retry."""


class RasaError(SahayError):
    """Rasa answered, but not with something the gateway understands."""
