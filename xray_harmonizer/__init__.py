"""X-Ray Harmonizer: make chest X-rays from a new site look, in intensity, like a reference site."""

__version__ = "0.1.0"
