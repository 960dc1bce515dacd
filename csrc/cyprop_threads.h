/*
 * cyprop_threads.h -- what the kernels need to know about OpenMP.
 *
 * setup.py compiles the network kernels with OpenMP where the compiler
 * supports it (GCC, Clang with libomp, MSVC); elsewhere (e.g. Apple clang
 * without libomp) _OPENMP is undefined, Cython's prange runs serially, and
 * these report one thread.  The results never depend on this: the parallel
 * loops give every chunk of work its own buffers, indexed by chunk, not by
 * thread, and reduce them in chunk order.
 *
 * cyp_flag_get/cyp_flag_set: a stop flag shared by the chunks of a parallel
 * loop (relaxed atomics: the flag only ever goes from 0 to 1).
 */
#ifndef CYPROP_THREADS_H
#define CYPROP_THREADS_H

#ifdef _OPENMP
#include <omp.h>
static inline int cyp_openmp(void) { return 1; }
static inline int cyp_omp_max_threads(void) { return omp_get_max_threads(); }
static inline int cyp_omp_num_procs(void) { return omp_get_num_procs(); }
static inline int cyp_team_size(void) { return omp_get_num_threads(); }
#else
static inline int cyp_openmp(void) { return 0; }
static inline int cyp_omp_max_threads(void) { return 1; }
static inline int cyp_omp_num_procs(void) { return 1; }
static inline int cyp_team_size(void) { return 1; }
#endif

#if defined(__GNUC__) || defined(__clang__)
static inline int cyp_flag_get(const int *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void cyp_flag_set(int *p, int v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }
#else
static inline int cyp_flag_get(const int *p) { return *(const volatile int *)p; }
static inline void cyp_flag_set(int *p, int v) { *(volatile int *)p = v; }
#endif

/* cyp_claim: the next task number of a parallel phase whose threads take
 * tasks as they come free (an atomic counter; which thread does a task never
 * changes what the task computes).
 * cyp_publish / cyp_wait_for: one thread tells the others of its region that
 * its step v is done (a release store: what it wrote before is visible to a
 * thread that has seen v); they wait until the value is at least v (acquire
 * loads), spinning with a pause, and yielding the CPU now and then (on a
 * busy machine the thread waited for may need it). */
#if defined(__GNUC__) || defined(__clang__)
static inline int cyp_claim(int *p) { return __atomic_fetch_add(p, 1, __ATOMIC_RELAXED); }
static inline void cyp_publish(int *p, int v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline int cyp_seen_(const int *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
#else   /* MSVC: volatile accesses are acquire / release on x86 and ARM64 (/volatile:ms) */
#include <intrin.h>
static inline int cyp_claim(int *p) { return (int)_InterlockedIncrement((volatile long *)p) - 1; }
static inline void cyp_publish(int *p, int v) { _ReadWriteBarrier(); *(volatile int *)p = v; }
static inline int cyp_seen_(const int *p) { int v = *(const volatile int *)p; _ReadWriteBarrier(); return v; }
#endif
#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
static inline void cyp_pause_(void) { YieldProcessor(); }
static inline void cyp_yield_(void) { SwitchToThread(); }
#else
#include <sched.h>
static inline void cyp_pause_(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}
static inline void cyp_yield_(void) { sched_yield(); }
#endif
static inline void cyp_wait_for(const int *p, int v)
{
    for (unsigned spins = 1; cyp_seen_(p) < v; spins++) {
        if (spins % 4096 == 0)
            cyp_yield_();
        else
            cyp_pause_();
    }
}

/* cyp_barrier: every thread of the enclosing parallel region waits here (an
 * orphaned `omp barrier`; nothing without OpenMP, where the region has one
 * thread). */
#ifdef _OPENMP
#if defined(_MSC_VER)
static inline void cyp_barrier(void) { __pragma(omp barrier) }
#else
static inline void cyp_barrier(void) { _Pragma("omp barrier") }
#endif
#else
static inline void cyp_barrier(void) { }
#endif

#endif /* CYPROP_THREADS_H */
