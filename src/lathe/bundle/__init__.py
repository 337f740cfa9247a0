"""Bundle: the deployable model folder, saved whole and verified on load."""

from lathe.bundle._bundle import SAMPLE_ROWS, Bundle, check_bundle_folder, load_bundle
from lathe.bundle._files import sha256

__all__ = ["SAMPLE_ROWS", "Bundle", "check_bundle_folder", "load_bundle", "sha256"]
