# Cython declarations of csrc/cyprop_threads.h (OpenMP, or its absence).

cdef extern from "cyprop_threads.h" nogil:
    int cyp_openmp()
    int cyp_omp_max_threads()
    int cyp_omp_num_procs()
    int cyp_team_size()    # threads in the enclosing parallel region (1 outside)
    int cyp_flag_get(const int* p)
    void cyp_flag_set(int* p, int v)
    int cyp_claim(int* p)
    void cyp_publish(int* p, int v)
    void cyp_wait_for(const int* p, int v)
    void cyp_barrier()
