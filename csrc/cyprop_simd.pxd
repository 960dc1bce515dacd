# Cython declarations of csrc/cyprop_simd.h (and its per-type template
# cyprop_simd_impl.h), written once; the kernels cimport them from here.
# Suffix _d: double, _f: float.

cdef extern from "cyprop_simd.h" nogil:
    # the optimizers of cyp_rule (one update rule each, every mode calls it)
    enum:
        CYP_OPT_SGD
        CYP_OPT_MOMENTUM
        CYP_OPT_NESTEROV
        CYP_OPT_ADAM

    # the constants of one update (momentum; Adam's lr_t, betas, eps, and where
    # the second moment sits: v[k + stride]); see cyprop_simd_impl.h
    ctypedef struct cyp_hyper_d:
        double mu, lr, beta_1, one_minus_beta_1, beta_2, one_minus_beta_2, eps
        Py_ssize_t stride
    ctypedef struct cyp_hyper_f:
        float mu, lr, beta_1, one_minus_beta_1, beta_2, one_minus_beta_2, eps
        Py_ssize_t stride
    enum:
        CYP_OPT_RPROP
    ctypedef struct cyp_rprop_consts:
        double increase
        double decrease
        double step_min
        double step_max

    # where the online kernel keeps its copies of the sample's input (4K aliasing)
    enum:
        CYP_PAGE
        CYP_LOAD_AHEAD
        CYP_STORE_WINDOW
        CYP_MAX_COPIES
    ctypedef struct cyp_inputs:
        int n
        char* cur[CYP_MAX_COPIES]
        char* old[CYP_MAX_COPIES]
        const unsigned char* pick
    int cyp_pick_copy(const cyp_inputs* inputs, const void* w, const void* v)
    unsigned cyp_ahead(const void* load, const void* store)

    double cyp_dot_d(const double*, const double*, Py_ssize_t)
    float cyp_dot_f(const float*, const float*, Py_ssize_t)
    void cyp_axpy_d(double*, const double*, double, Py_ssize_t)
    void cyp_axpy_f(float*, const float*, float, Py_ssize_t)

    # a block of 8 samples side by side, [unit][lane] (batch and mini-batch);
    # 16 in float where CYP_WIDE_F32 (AVX-512: one vector of 16 floats)
    enum:
        CYP_WIDE_F32
    void cyp_block_forward_d(const double* W, const double* b, const double* a, double* z,
                             Py_ssize_t n_in, Py_ssize_t n_out, Py_ssize_t lanes)
    void cyp_block_forward_f(const float* W, const float* b, const float* a, float* z,
                             Py_ssize_t n_in, Py_ssize_t n_out, Py_ssize_t lanes)
    void cyp_block_back_d(const double* W, const double* d, double* back, Py_ssize_t n_in,
                          Py_ssize_t n_out, Py_ssize_t lanes)
    void cyp_block_back_f(const float* W, const float* d, float* back, Py_ssize_t n_in,
                          Py_ssize_t n_out, Py_ssize_t lanes)
    void cyp_block_transpose_d(const double* a, double* aT, Py_ssize_t n, Py_ssize_t lanes)
    void cyp_block_transpose_f(const float* a, float* aT, Py_ssize_t n, Py_ssize_t lanes)
    void cyp_block8_grad_d(double* G, const double* d, Py_ssize_t ds, const double* aT,
                           Py_ssize_t n_in, Py_ssize_t n_out)
    void cyp_block8_grad_f(float* G, const float* d, Py_ssize_t ds, const float* aT,
                           Py_ssize_t n_in, Py_ssize_t n_out)

    # the update rule: one parameter, one row fused with a pass, a gradient
    void cyp_update_one_d(int opt, double* w, double* v, Py_ssize_t k, double step, cyp_hyper_d h)
    void cyp_update_one_f(int opt, float* w, float* v, Py_ssize_t k, float step, cyp_hyper_f h)
    void cyp_deferred_layer_d(int opt, double* W, double* V, const cyp_inputs* inputs,
                              const double* steps, cyp_hyper_d h, const double* b,
                              double* z, Py_ssize_t n_in, Py_ssize_t n_out)
    void cyp_deferred_layer_f(int opt, float* W, float* V, const cyp_inputs* inputs,
                              const float* steps, cyp_hyper_f h, const float* b,
                              float* z, Py_ssize_t n_in, Py_ssize_t n_out)
    void cyp_deferred_layer_l2_d(int opt, double* W, double* V, const cyp_inputs* inputs,
                                 const double* steps, double lam, double* sq, double* row_sq,
                                 cyp_hyper_d h, const double* b, double* z, Py_ssize_t n_in,
                                 Py_ssize_t n_out)
    void cyp_deferred_layer_l2_f(int opt, float* W, float* V, const cyp_inputs* inputs,
                                 const float* steps, float lam, double* sq, double* row_sq,
                                 cyp_hyper_f h, const float* b, float* z, Py_ssize_t n_in,
                                 Py_ssize_t n_out)
    void cyp_row_step_d(int opt, double* w, double* v, const double* a, double step,
                        cyp_hyper_d h, Py_ssize_t n)
    void cyp_row_step_f(int opt, float* w, float* v, const float* a, float step,
                        cyp_hyper_f h, Py_ssize_t n)
    void cyp_backprop_layer_d(int opt, int l2, double* W, double* V, double* back,
                              const double* a, const double* delta, const double* steps,
                              double lam, double* sq, cyp_hyper_d h, Py_ssize_t n_in,
                              Py_ssize_t n_out)
    void cyp_backprop_layer_f(int opt, int l2, float* W, float* V, float* back,
                              const float* a, const float* delta, const float* steps,
                              float lam, double* sq, cyp_hyper_f h, Py_ssize_t n_in,
                              Py_ssize_t n_out)
    void cyp_apply_gradient_d(int opt, double* w, double* g, double* v, double eta,
                              double scale, cyp_hyper_d h, Py_ssize_t n)
    void cyp_apply_gradient_f(int opt, float* w, float* g, float* v, double eta,
                              double scale, cyp_hyper_f h, Py_ssize_t n)

    # the rule with the L2 term, one first-layer row of an online step (long
    # rows: CYP_L2_ROW_MIN inputs and more); returns sum w^2 (old w)
    enum:
        CYP_L2_ROW_MIN
    double cyp_l2_row_step_d(int opt, double* w, double* v, const double* a, double step,
                             double lam, cyp_hyper_d h, Py_ssize_t n)
    double cyp_l2_row_step_f(int opt, float* w, float* v, const float* a, float step,
                             float lam, cyp_hyper_f h, Py_ssize_t n)
    # back = W^T delta alone, as cyp_backprop_layer forms it (the threaded online epoch)
    void cyp_layer_back_d(const double* W, double* back, const double* delta, Py_ssize_t n_in,
                          Py_ssize_t n_out)
    void cyp_layer_back_f(const float* W, float* back, const float* delta, Py_ssize_t n_in,
                          Py_ssize_t n_out)
    # sum w^2 of a row, in double (the L2 term's share of an online step)
    double cyp_row_squares_d(const double* w, Py_ssize_t n)
    double cyp_row_squares_f(const float* w, Py_ssize_t n)
    # iRprop- on an accumulated batch gradient (its own rule, batch mode only)
    void cyp_rprop_apply_d(double* w, double* g, double* sg, double* d,
                           const cyp_rprop_consts* c, Py_ssize_t n)
    void cyp_rprop_apply_f(float* w, float* g, float* sg, float* d,
                           const cyp_rprop_consts* c, Py_ssize_t n)

    # activations and output layers
    double cyp_exp_d(double)
    float cyp_exp_f(float)
    double cyp_log_d(double)
    void cyp_sigmoid_d(const double*, double*, Py_ssize_t)
    void cyp_sigmoid_f(const float*, float*, Py_ssize_t)
    void cyp_rbf_d(const double*, double*, Py_ssize_t)
    void cyp_rbf_f(const float*, float*, Py_ssize_t)
    double cyp_exp_shifted_d(const double*, double*, double, Py_ssize_t)
    float cyp_exp_shifted_f(const float*, float*, float, Py_ssize_t)
    double cyp_sigmoid_xent_d(const double*, const double*, const double*, const double*,
                              double*, Py_ssize_t)
    double cyp_sigmoid_xent_f(const float*, const float*, const float*, const float*,
                              float*, Py_ssize_t)
    double cyp_squared_error_d(const double*, const double*, const double*, double*, Py_ssize_t)
    double cyp_squared_error_f(const float*, const float*, const float*, float*, Py_ssize_t)
    double cyp_squared_error_weighted_d(const double*, const double*, const double*, double*,
                                        Py_ssize_t)
    double cyp_squared_error_weighted_f(const float*, const float*, const float*, float*,
                                        Py_ssize_t)

    # a layer's steps (eta delta) and bias updates after a sample
    void cyp_layer_steps_d(int opt, double* b, double* v, double* steps, const double* delta,
                           double eta, int train_bias, cyp_hyper_d h, Py_ssize_t n)
    void cyp_layer_steps_f(int opt, float* b, float* v, float* steps, const float* delta,
                           double eta, int train_bias, cyp_hyper_f h, Py_ssize_t n)

    # 1 when every value is finite
    int cyp_all_finite_d(const double* v, Py_ssize_t n)
    int cyp_all_finite_f(const float* v, Py_ssize_t n)

    # the blocked schedule's correction of z for the block's earlier steps
    void cyp_sub_steps_d(double* z, const double* D, const double* coef, Py_ssize_t count,
                         Py_ssize_t H)
    void cyp_sub_steps_f(float* z, const float* D, const float* coef, Py_ssize_t count,
                         Py_ssize_t H)

    # the blocked schedule's products (cyprop_gemm_impl.h), used when
    # CYP_OWN_GEMM is 1 (the AVX-512 build), SciPy's BLAS otherwise
    enum:
        CYP_OWN_GEMM
    void cyp_gemm_xw_d(const double* W, Py_ssize_t n_rows, const double* XbT, Py_ssize_t kp,
                       Py_ssize_t n_k, Py_ssize_t m, double* P, Py_ssize_t ldp)
    void cyp_gemm_xw_f(const float* W, Py_ssize_t n_rows, const float* XbT, Py_ssize_t kp,
                       Py_ssize_t n_k, Py_ssize_t m, float* P, Py_ssize_t ldp)
    void cyp_gemm_gram_d(const double* Xb, const double* XbT, Py_ssize_t kp, Py_ssize_t n_k,
                         Py_ssize_t m, Py_ssize_t r0, Py_ssize_t r1, double* G)
    void cyp_gemm_gram_f(const float* Xb, const float* XbT, Py_ssize_t kp, Py_ssize_t n_k,
                         Py_ssize_t m, Py_ssize_t r0, Py_ssize_t r1, float* G)
    void cyp_gemm_rank_d(double* W, Py_ssize_t n_rows, const double* D, Py_ssize_t ldd,
                         const double* Xb, Py_ssize_t n_k, Py_ssize_t m, double beta)
    void cyp_gemm_rank_f(float* W, Py_ssize_t n_rows, const float* D, Py_ssize_t ldd,
                         const float* Xb, Py_ssize_t n_k, Py_ssize_t m, float beta)
    void cyp_gemm_transpose_d(const double* Xb, Py_ssize_t m, Py_ssize_t n_k, double* XbT,
                              Py_ssize_t kp)
    void cyp_gemm_transpose_f(const float* Xb, Py_ssize_t m, Py_ssize_t n_k, float* XbT,
                              Py_ssize_t kp)

    int cyp_cpu_has_avx2_fma()
    int cyp_cpu_has_avx512()
    unsigned long long cyp_xcr0()
