"""The instrumented build holds the kernel builds it was asked for, and the
dispatcher picks the best of them: the build the CPU runs is the one tested.

usage: python .ci/check_targets.py   (reads $CYPROP_SIMD_TARGETS; unset or
empty means every build of the architecture)
"""

import importlib.util
import os
import platform

import cyprop._kernels as k

value = os.environ.get("CYPROP_SIMD_TARGETS", "").strip()
if value:
    wanted = {t.strip().lower() for t in value.split(",") if t.strip()}
else:
    wanted = {"baseline", "avx2", "avx512"} if platform.machine() in ("x86_64", "AMD64") \
        else {"baseline"}
# found, not imported: a build is never imported on a CPU that cannot run it
built = {level for level in k.LEVELS
         if all(importlib.util.find_spec(f"cyprop._kernels.{kind}_{suffix}") is not None
                for kind in ("network", "tutorial")
                for suffix in ["base" if level == "baseline" else level])}
assert built == wanted, f"installed kernel builds {sorted(built)}, asked for {sorted(wanted)}"
runnable = {level for level in k.LEVELS if level in k.cpu_levels()}
best_cpu = next(level for level in k.LEVELS if level in runnable)
assert k.simd == best_cpu, (
    f"the dispatcher picks {k.simd}, but this CPU runs {best_cpu}: instrument that build")
print(f"kernel builds {', '.join(sorted(built))}; the dispatcher picks {k.simd}")
