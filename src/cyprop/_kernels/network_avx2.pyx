# cython: language_level=3
"""Network kernels compiled with -mavx2 -mfma (x86-64, selected at run time)."""
include "network_kernels.pxi"
