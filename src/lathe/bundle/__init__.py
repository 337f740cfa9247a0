"""Bundle: the deployable model folder, saved whole and verified on load."""

from lathe.bundle._bundle import Bundle, load_bundle
from lathe.bundle._files import sha256

__all__ = ["Bundle", "load_bundle", "sha256"]
