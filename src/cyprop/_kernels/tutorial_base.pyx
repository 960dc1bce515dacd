# cython: language_level=3
"""Tutorial kernels compiled for the architecture's baseline instruction set."""
include "tutorial_kernels.pxi"
