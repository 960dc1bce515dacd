"""The same functions as network_base (one source, network_kernels.pxi)."""

from .network_base import *  # noqa: F403
