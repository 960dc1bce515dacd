# cython: language_level=3
"""Network kernels compiled with AVX-512 (x86-64, selected at run time when
the CPU and the OS support it)."""
include "network_kernels.pxi"
