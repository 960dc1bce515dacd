# Cython declarations of csrc/cyprop_interrupt.h: Ctrl-C and a sweep's cancel,
# polled by the kernels' long loops (see the header).

cdef extern from "cyprop_interrupt.h":
    ctypedef struct cyp_interrupt:
        int stopped
    void cyp_interrupt_init(cyp_interrupt*) nogil
    int cyp_interrupted(cyp_interrupt*) nogil
    int cyp_interrupted_clocked(cyp_interrupt*) nogil
    int cyp_interrupt_raise(cyp_interrupt*) except -1
    int cyp_set_cancel(unsigned long, int)
