"""The same functions as tutorial_base (one source, tutorial_kernels.pxi)."""

from .tutorial_base import *  # noqa: F403
