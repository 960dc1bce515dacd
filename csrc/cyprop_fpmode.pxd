# Cython declarations of csrc/cyprop_fpmode.h: subnormals flushed to zero
# while a training kernel runs (see the header).

cdef extern from "cyprop_fpmode.h" nogil:
    ctypedef unsigned long long cyp_fp_mode
    int cyp_fp_can_flush()
    cyp_fp_mode cyp_fp_flush(int on)
    void cyp_fp_restore(cyp_fp_mode mode)
