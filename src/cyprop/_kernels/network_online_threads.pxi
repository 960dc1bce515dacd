# Online training (one update per sample, the sequential schedule) on more
# than one thread: the same trajectory as _sample_step's loop, bit for bit.
#
# Included at the end of network_kernels.pxi (it uses that file's helpers).
#
# Each sample depends on the weights the previous one left, so the samples
# stay in order; what splits is the first layer, whose rows W_0[j] (and
# their velocity or Adam moments, their biases and steps) are divided
# between the threads for the whole epoch (_online_row): each thread keeps
# its rows in its core's cache.  Per sample:
#
#   (1) every thread, its rows: the previous sample's deferred update of row
#       j fused with z_j = W_0[j] . x + b_j; with the L2 term each old row's
#       sum of squares to row_sq[j] (two halves, by the previous sample's
#       parity), which thread 0 adds to that sample's loss in row order
#       after this sample's "delta ready";          then it signals "z ready"
#   (2) thread 0: the layers above the first, forward, and backward down to
#       the first layer's delta without updating them (_sample_chain);
#                                                    then it signals "delta ready";
#       then their updates (_upper_updates), while the others run (3)
#   (3) every thread, its rows: the steps eta * delta_j and the biases' update
#       (_layer_steps).  (With the L2 term but not st.defer_l2, the float32
#       rows that one thread updates by column blocks, the update of W_0[j]
#       runs here, _first_layer_l2, its squares to this sample's half, and
#       (1) computes z_j alone.)
#
# Only z, the first layer's delta and the squares cross between cores per
# sample.  Thread 0 takes the last rows (their biases' tail may share a cache
# line with the next layer's weights, which it updates), and fewer of them:
# as many as leave it, with the upper layers' updates, the others' share of
# weights (rows at multiples of a cache line of z).
#
# Every weight is computed by the same operations as on one thread (each row's
# update and dot product is one call of the same helper; cyp_layer_back forms
# W^T delta as cyp_backprop_layer does while it updates), and the loss is
# summed in the same order, so every n_threads gives one thread's bits.  Each
# thread reads its own copies of the input rows (its own slot of scratch:
# _plan_inputs picks each row's copy against that thread's copies).  The
# signals are per-thread counters (cyp_publish / cyp_wait_for), one cache
# line each.

cdef enum:
    _SIGNAL_STRIDE = 16   # ints: one 64-byte line per signal


cdef inline void _rows_z(const floating* W, const floating* b, const floating* x, floating* z,
                         Py_ssize_t h0, Py_ssize_t h1, Py_ssize_t n_in) noexcept nogil:
    # z_j = W_0[j] . x + b_j for rows h0..h1-1 (as _layer_z computes each)
    cdef Py_ssize_t j
    for j in range(h0, h1):
        z[j] = _dot(W + j * n_in, x, n_in) + b[j]


cdef inline Py_ssize_t _online_start0(Py_ssize_t team, Py_ssize_t H, Py_ssize_t n_x,
                                     Py_ssize_t n_upper, Py_ssize_t grain) noexcept nogil:
    """The first row of thread 0's share (the last rows) among team threads:
    it gets r0 rows where r0 n_x + n_upper = r n_x, with r the others' rows
    each (the upper layers' n_upper parameters are its own), at a multiple
    of grain rows."""
    cdef double r0
    cdef Py_ssize_t start
    if team <= 1:
        return 0
    r0 = (<double>(H * n_x + n_upper)) / (team * n_x) - (<double>n_upper) / n_x
    start = <Py_ssize_t>((H - r0) / grain + 0.5) * grain
    return max(<Py_ssize_t>0, min(H, start))


cdef inline Py_ssize_t _online_row(Py_ssize_t c, Py_ssize_t team, Py_ssize_t H,
                                   Py_ssize_t start0, Py_ssize_t grain) noexcept nogil:
    """First row of chunk c of team (row H for c == team): chunks 0 .. team-2
    split rows [0, start0) at multiples of grain; chunk team-1, thread 0's,
    is [start0, H)."""
    cdef Py_ssize_t tiles
    if c >= team:
        return H
    if c == team - 1:
        return start0
    tiles = (start0 + grain - 1) // grain
    return min(start0, c * tiles // (team - 1) * grain)


cdef inline double _sample_chain(floating* params, const Layout* L, const Slots* ws,
                                 floating* work, const floating* t,
                                 floating* deltas) noexcept nogil:
    """_sample_upper's passes without its updates: the layers above the first
    forward, the output delta, and the backward pass down to the first layer
    (back = W^T delta, cyp_layer_back), layer l's delta to deltas + n_off[l].
    Returns the sample's loss (without the penalty)."""
    cdef const Py_ssize_t* sizes = L.sizes
    cdef const Py_ssize_t* n_off = L.n_off
    cdef floating* z = work + ws.z
    cdef floating* a = work + ws.a
    cdef floating* back = work + ws.back
    cdef Py_ssize_t l = L.n_layers - 1
    cdef double sample_loss
    _activate(L.acts[0], z + n_off[0], a + n_off[0], sizes[1])
    _forward_from(L, 1, params, a + n_off[0], z, a)
    sample_loss = _output_delta(L.loss, L.acts[l], z + n_off[l], a + n_off[l], t,
                                deltas + n_off[l], sizes[L.n_layers])
    for l in range(L.n_layers - 1, 0, -1):
        _layer_back(params + L.w_off[l], back, deltas + n_off[l], sizes[l], sizes[l + 1])
        _hidden_delta(L.acts[l - 1], back, z + n_off[l - 1], a + n_off[l - 1],
                      deltas + n_off[l - 1], sizes[l])
    return sample_loss


cdef inline void _upper_updates(floating* params, floating* velocity, const Layout* L,
                                const Slots* ws, floating* work, const Step* st,
                                const floating* deltas, double* sq) noexcept nogil:
    """The updates _sample_upper makes with its backward pass, from the deltas
    _sample_chain left: layers n_layers-1 down to 1, each its biases, then
    its weights by the rule (with the L2 term ``*sq +=`` its old rows' sums
    of squares, in the same order as there)."""
    cdef const Py_ssize_t* sizes = L.sizes
    cdef floating* a = work + ws.a
    cdef floating* steps = work + ws.steps
    cdef Py_ssize_t l
    for l in range(L.n_layers - 1, 0, -1):
        _layer_steps(st, params + L.b_off[l], _at(velocity, L.b_off[l]), steps,
                     deltas + L.n_off[l], L.train_bias, sizes[l + 1])
        _backprop_layer(st, params + L.w_off[l], _at(velocity, L.w_off[l]), NULL,
                        a + L.n_off[l - 1], deltas + L.n_off[l], steps, sq, sizes[l],
                        sizes[l + 1])


cdef inline void _layer_back(const floating* W, floating* back, const floating* delta,
                             Py_ssize_t n_in, Py_ssize_t n_out) noexcept nogil:
    # back = W^T delta, summed as _backprop_layer sums it (cyp_layer_back)
    if floating is float:
        cyp_layer_back_f(W, back, delta, n_in, n_out)
    else:
        cyp_layer_back_d(W, back, delta, n_in, n_out)


cdef inline cyp_inputs _planned_inputs(const Layout* L, const Slots* ws, floating* work,
                                      const floating* params,
                                      const floating* velocity) noexcept nogil:
    # _plan_inputs' copies in this workspace
    cdef cyp_inputs inputs
    _plan_inputs(&inputs, L, ws, work, params, velocity)
    return inputs


cdef double _online_epoch_threads(floating* params, floating* velocity, const Layout* L,
                                  const Slots* ws, floating* work, floating* extra,
                                  Step* st, const floating* X, const floating* Y,
                                  const Py_ssize_t* ids, Py_ssize_t id_stride, Py_ssize_t n,
                                  Py_ssize_t n_threads, int* signals, double* row_sq,
                                  int flush, cyp_fp_mode caller_mode,
                                  cyp_interrupt* intr) noexcept nogil:
    """One online epoch over samples ids[0], ids[id_stride], ... on up to
    n_threads threads, as above; returns the summed loss (with the L2
    penalty, as _sample_step's loop sums it).

    ``extra`` holds n_threads - 1 workspaces of ws.end elements (thread t
    > 0 uses the t-th for its input copies); ``signals`` (n_threads + 2) *
    _SIGNAL_STRIDE ints, 64-byte aligned (one line per signal and one for
    the stop flag), and ``row_sq`` (2 * sizes[1],), 64-byte aligned (the
    rows' squares of even and odd samples), are scratch.  ``st`` changes as
    the loop's own Step would (Adam's t, lr_t).  Stops before a sample when
    intr says so (intr.stopped; the caller restores the epoch's weights).
    ``flush``: every thread runs with subnormals flushed to zero; then the
    others take ``caller_mode`` (_fp_leave).
    """
    cdef Py_ssize_t n_x = L.sizes[0], H = L.sizes[1], n_y = L.sizes[L.n_layers]
    cdef floating* W0 = params + L.w_off[0]
    cdef floating* V0 = _at(velocity, L.w_off[0])
    cdef floating* b0 = params + L.b_off[0]
    cdef floating* z0 = work + ws.z + L.n_off[0]
    cdef floating* V_b0 = _at(velocity, L.b_off[0])
    cdef bint l2 = st.l2 != 0
    # the first layer's update deferred to the next sample's (1), as on one
    # thread (with the L2 term unless st.defer_l2 says otherwise)
    cdef bint defer = not l2 or st.defer_l2
    # every layer's delta (thread 0's, in its workspace's block slot, unused
    # online); the first layer's is read by all
    cdef floating* deltas = work + ws.zB
    cdef floating* delta0 = deltas + L.n_off[0]
    cdef Py_ssize_t grain = 64 // sizeof(floating)   # rows per cache line of z
    cdef Py_ssize_t n_upper = 0, start0
    # the sample at which every thread stops (Ctrl-C), on a line of its own
    cdef int* stop_p = &signals[(n_threads + 1) * _SIGNAL_STRIDE]
    cdef double total = 0
    cdef double* total_p = &total
    cdef double my_total
    cdef Py_ssize_t s, j, q, tid, team, h0, h1, c
    cdef bint pending
    cdef double loss_s, loss_prev, sq_s, sq
    cdef floating* my_work
    cdef floating* steps
    cdef const floating* x
    cdef Step my_st
    cdef cyp_inputs my_in, rows_in
    cdef cyp_fp_mode mode
    for c in range(1, L.n_layers):
        n_upper += L.sizes[c] * L.sizes[c + 1] + L.sizes[c + 1]
    for c in range((n_threads + 1) * _SIGNAL_STRIDE):
        signals[c] = -1
    stop_p[0] = -2
    with parallel(num_threads=_team(n_threads)):
        mode = cyp_fp_flush(flush)
        tid = threadid()
        team = cyp_team_size()
        # thread 0 takes the last rows, and fewer (_online_start0)
        start0 = _online_start0(team, H, n_x, n_upper, grain)
        h0 = _online_row(team - 1 - tid, team, H, start0, grain)
        h1 = _online_row(team - tid, team, H, start0, grain)
        my_work = work if tid == 0 else extra + (tid - 1) * ws.end
        # this thread's rows' steps eta * delta_j, in its own workspace
        steps = my_work + (ws.pending if defer else ws.steps)
        my_st = st[0]
        # (assigned, not filled through a pointer: so Cython makes it private)
        my_in = _planned_inputs(L, ws, my_work, params, velocity)
        pending = False
        loss_s = 0
        sq_s = 0
        my_total = 0   # (thread 0's sum, stored once at the end)
        s = 0
        while s < n:
            q = ids[s * id_stride]
            if my_st.opt == CYP_OPT_ADAM:
                _adam_tick(&my_st)
            x = _next_input(&my_in, X + q * n_x, n_x)
            # (1) forward pass, first layer: this thread's rows
            if pending:
                # with the previous sample's deferred update on the way
                rows_in = my_in
                rows_in.pick = my_in.pick + h0
                # (with the L2 term each old row's squares to row_sq, the
                # previous sample's half)
                _deferred_layer(&my_st, W0 + h0 * n_x, _at(V0, h0 * n_x), &rows_in,
                                steps + h0, b0 + h0, z0 + h0, NULL,
                                row_sq + ((s - 1) % 2) * H + h0 if l2 else NULL, n_x, h1 - h0)
            else:
                _rows_z(W0, b0, x, z0, h0, h1, n_x)
            cyp_publish(&signals[(tid + 1) * _SIGNAL_STRIDE], <int>s)
            # (2) thread 0: the rest of the sample
            if tid == 0:
                for c in range(1, team):
                    cyp_wait_for(&signals[(c + 1) * _SIGNAL_STRIDE], <int>s)
                if cyp_interrupted(intr):
                    cyp_flag_set(stop_p, <int>s)
                    cyp_publish(&signals[0], <int>s)
                else:
                    loss_prev = loss_s
                    loss_s = _sample_chain(params, L, ws, work, Y + q * n_y, deltas)
                    cyp_publish(&signals[0], <int>s)
                    if l2 and s > 0:
                        # the previous sample's loss with its penalty: its rows'
                        # squares are in (double-buffered: the others now write
                        # this sample's into the other half)
                        sq = sq_s
                        for j in range(H):
                            sq = sq + row_sq[((s - 1) % 2) * H + j]
                        my_total = my_total + (loss_prev
                                               + 0.5 * my_st.l2 * sq * my_st.l2_loss_scale)
                    elif not l2:
                        my_total = my_total + loss_s
                    # the layers above: their updates while the others run (3)
                    sq_s = 0
                    _upper_updates(params, velocity, L, ws, work, &my_st, deltas, &sq_s)
            else:
                cyp_wait_for(&signals[0], <int>s)
            if cyp_flag_get(stop_p) == s:   # (set before the signal)
                break
            # (3) this thread's rows: steps and biases, then the weights' update
            # deferred to the next sample's (1), or now (the L2 term without
            # st.defer_l2)
            _layer_steps(&my_st, b0 + h0, _at(V_b0, h0), steps + h0, delta0 + h0,
                         L.train_bias, h1 - h0)
            if not defer:
                _first_layer_l2(params, velocity, L, &my_st, &my_in, steps, h0, h1, NULL,
                                row_sq + (s % 2) * H)
            else:
                pending = True
            s = s + 1
        if cyp_flag_get(stop_p) < 0:
            if pending and l2:
                # the last sample's deferred update (as _apply_pending)
                _first_layer_l2(params, velocity, L, &my_st, &my_in, steps, h0, h1, NULL,
                                row_sq + ((n - 1) % 2) * H)
            elif pending:
                for j in range(h0, h1):
                    _row_step(&my_st, W0 + j * n_x, _at(V0, j * n_x), x, steps[j], n_x)
            cyp_barrier()
            if tid == 0:
                if l2:
                    sq = sq_s
                    for j in range(H):
                        sq = sq + row_sq[((n - 1) % 2) * H + j]
                    my_total = my_total + (loss_s + 0.5 * my_st.l2 * sq * my_st.l2_loss_scale)
                st[0] = my_st
                total_p[0] = my_total
        _fp_leave(mode, caller_mode)
    return total
