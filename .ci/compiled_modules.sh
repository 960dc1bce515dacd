# The compiled modules of the package, by path inside the wheel (no suffix):
# the one list the CI checks read (compile lines, wheel contents, objdump,
# dispatch).  Sourced by .ci/lib.sh.
# shellcheck disable=SC2034
BASELINE_MODULES=(cyprop/_kernels/network_base cyprop/_kernels/tutorial_base)  # portable: no AVX at all
AVX2_MODULES=(cyprop/_kernels/network_avx2 cyprop/_kernels/tutorial_avx2)      # x86-64 only: must hold AVX2
AVX512_MODULES=(cyprop/_kernels/network_avx512 cyprop/_kernels/tutorial_avx512)  # x86-64 only: must hold zmm code
NO_FMA_MODULES=(cyprop/_kernels/tutorial_avx2 cyprop/_kernels/tutorial_avx512)   # built with -ffp-contract=off
DISPATCHER=cyprop._kernels                                    # has .simd, honours CYPROP_SIMD
