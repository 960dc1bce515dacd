# Cython declarations of csrc/cyprop_tutorial.h.

cdef extern from "cyprop_tutorial.h" nogil:
    double cyp_python_pow(double x, double y)
    double cyp_rbf_surface_loss(const double* x, const double* t, Py_ssize_t n,
                                double wh, double bo)
    void cyp_rbf_step_sums(const double* x, const double* t, Py_ssize_t n, double wh,
                           double bo, double lr, double* sum_wh, double* sum_bo)
