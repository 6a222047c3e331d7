"""Reference-site profiles."""

from xray_harmonizer.reference.profile import (
    ProfileError,
    ReferenceProfile,
    build_profile,
    load_profile,
)

__all__ = ["ProfileError", "ReferenceProfile", "build_profile", "load_profile"]
