# cython: language_level=3
"""Tutorial kernels compiled with AVX-512 and -ffp-contract=off (x86-64,
selected at run time when the CPU and the OS support it)."""
include "tutorial_kernels.pxi"
