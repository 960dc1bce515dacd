/*
 * cyprop_interrupt.h -- let long kernel loops notice Ctrl-C (and a sweep's cancel).
 *
 * A kernel runs its whole loop with the GIL released, so Python's SIGINT
 * handler cannot run until it returns.  Each loop instead calls
 * cyp_interrupted(&intr) once per sample (or block, or step).  That is a
 * decrement and a branch; every `stride` calls it reads the monotonic clock,
 * adapting `stride` so the clock is read about every 1-4 ms whatever the cost
 * of one call; and at most every CYP_CHECK_SECONDS it takes the GIL briefly and
 * calls PyErr_CheckSignals() (which runs the Python-level handlers in the main
 * thread only) and looks whether the current thread was asked to stop by
 * cyp_cancel_threads() (worker threads of a sweep, which see no signals).
 *
 * When it returns non-zero the kernel stops at a consistent point, finishes
 * its bookkeeping, leaves `nogil` and calls cyp_interrupt_raise(), which
 * re-raises the exception the handler raised (KeyboardInterrupt by default).
 *
 * The state is a small struct on the kernel's stack; the cancel list is a
 * per-module static array behind a lock (the only module state).
 */
#ifndef CYPROP_INTERRUPT_H
#define CYPROP_INTERRUPT_H

#include <Python.h>
#include <pythread.h>
#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#else
#include <time.h>
#endif

#define CYP_CHECK_SECONDS 0.02
#define CYP_MAX_CANCEL 256

typedef struct {
    Py_ssize_t countdown;
    Py_ssize_t stride;
    double last_clock;
    double next_check;
    int stopped;            /* 0 running, 1 a signal handler raised, 2 cancelled */
    PyObject *exc_type, *exc_value, *exc_tb;
} cyp_interrupt;

static unsigned long cyp_cancel_ids[CYP_MAX_CANCEL];
static int cyp_n_cancel = 0;
/* guards the list (free-threaded builds have no GIL to do it); made by the first set */
static PyThread_type_lock cyp_cancel_lock = NULL;

static inline double cyp_clock(void)
{
#if defined(_WIN32)
    return 1e-3 * (double)GetTickCount64();
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#endif
}

static inline void cyp_interrupt_init(cyp_interrupt *p)
{
    p->countdown = p->stride = 1;
    p->last_clock = cyp_clock();
    p->next_check = p->last_clock + CYP_CHECK_SECONDS;
    p->stopped = 0;
    p->exc_type = p->exc_value = p->exc_tb = NULL;
}

/* With the GIL held: is the calling thread on the cancel list? */
static int cyp_thread_cancelled(void)
{
    unsigned long me;
    int i, found = 0;
    if (cyp_cancel_lock == NULL)
        return 0;
    me = PyThread_get_thread_ident();
    PyThread_acquire_lock(cyp_cancel_lock, WAIT_LOCK);
    for (i = 0; i < cyp_n_cancel; i++)
        if (cyp_cancel_ids[i] == me)
            found = 1;
    PyThread_release_lock(cyp_cancel_lock);
    return found;
}

#if defined(__GNUC__)
__attribute__((noinline, cold))
#endif
static int cyp_interrupt_slow(cyp_interrupt *p)
{
    double now = cyp_clock(), dt = now - p->last_clock;
    PyGILState_STATE gil;
    if (dt < 0.001 && p->stride < ((Py_ssize_t)1 << 30))
        p->stride *= 2;
    else if (dt > 0.004 && p->stride > 1)
        p->stride /= 2;
    p->last_clock = now;
    p->countdown = p->stride;
    if (now < p->next_check)
        return 0;
    p->next_check = now + CYP_CHECK_SECONDS;
    gil = PyGILState_Ensure();
    if (PyErr_CheckSignals() != 0) {
        PyErr_Fetch(&p->exc_type, &p->exc_value, &p->exc_tb);
        p->stopped = 1;
    } else if (cyp_thread_cancelled()) {
        p->stopped = 2;
    }
    PyGILState_Release(gil);
    return p->stopped;
}

/* Once per sample/block/step, without the GIL.  Non-zero: stop now. */
static inline int cyp_interrupted(cyp_interrupt *p)
{
    if (--p->countdown > 0)
        return 0;
    return cyp_interrupt_slow(p);
}

/* The same, reading the clock on every call: for loops whose steps can take
 * far longer than the ones the stride was fitted to (a step that waits for
 * other threads at a barrier, which an overloaded machine may not run for a
 * while); one clock read per step. */
static inline int cyp_interrupted_clocked(cyp_interrupt *p)
{
    /* (the clock here, the cold path only when a check is due: a call to the
     * cold function on every step made GCC treat the code after it as cold
     * too, and the blocked schedule's two-thread sample loop lost 20%) */
    if (cyp_clock() < p->next_check)
        return 0;
    p->countdown = 1;
    return cyp_interrupt_slow(p);
}

/* With the GIL, after the loop: -1 with the exception set if it stopped, else 0. */
static int cyp_interrupt_raise(cyp_interrupt *p)
{
    if (p->stopped == 1) {
        PyErr_Restore(p->exc_type, p->exc_value, p->exc_tb);
        p->exc_type = p->exc_value = p->exc_tb = NULL;
        return -1;
    }
    if (p->stopped == 2) {
        PyErr_SetString(PyExc_KeyboardInterrupt,
                        "cancelled: the sweep this fit belongs to was interrupted");
        return -1;
    }
    return 0;
}

/* With the GIL: ask thread `id` to stop its kernels (cancel != 0), or stop asking. */
static int cyp_set_cancel(unsigned long id, int cancel)
{
    int i, rc = 0;
    if (cyp_cancel_lock == NULL && (cyp_cancel_lock = PyThread_allocate_lock()) == NULL)
        return -1;
    PyThread_acquire_lock(cyp_cancel_lock, WAIT_LOCK);
    for (i = 0; i < cyp_n_cancel; i++)
        if (cyp_cancel_ids[i] == id)
            break;
    if (cancel && i == cyp_n_cancel) {
        if (cyp_n_cancel == CYP_MAX_CANCEL)
            rc = -1;
        else
            cyp_cancel_ids[cyp_n_cancel++] = id;
    } else if (!cancel && i < cyp_n_cancel) {
        cyp_cancel_ids[i] = cyp_cancel_ids[--cyp_n_cancel];
    }
    PyThread_release_lock(cyp_cancel_lock);
    return rc;
}

#endif /* CYPROP_INTERRUPT_H */
