# cython: language_level=3
"""Network kernels compiled for the architecture's baseline instruction set."""
include "network_kernels.pxi"
