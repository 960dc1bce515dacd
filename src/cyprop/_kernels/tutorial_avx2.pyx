# cython: language_level=3
"""Tutorial kernels compiled with -mavx2 -mfma (x86-64, selected at run time)."""
include "tutorial_kernels.pxi"
