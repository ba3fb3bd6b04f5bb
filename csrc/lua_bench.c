/* lua_bench.c: cnn._bench, the private helpers of the benchmarks (bench/conv.lua); not API, not
 * documented in the reference. sgemm_time is the raw-GEMM yardstick of bench/conv.lua. */
#include "lua_util.h"

#include <cblas.h>
#include <stdlib.h>
#include <time.h>

#define FN "_bench.sgemm_time"

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* cnn._bench.sgemm_time(M, N, K [, reps=5]): median seconds of one row-major cblas_sgemm
 * C (M,N) = A (M,K) @ B (K,N) with OpenBLAS's own threads at the current thread count; the
 * yardstick the conv benchmark compares with. OpenBLAS goes back to one thread afterwards (see
 * context.c); its threads spin for ~0.1 s after their last job, so a caller timing something
 * else next should let them settle first. Private (cnn._bench): a benchmark tool, not API. */
static int l_sgemm_time(lua_State *L) {
    int64_t M = check_int(L, 1, FN, "M"), N = check_int(L, 2, FN, "N");
    int64_t Kd = check_int(L, 3, FN, "K");
    int64_t reps = lua_isnoneornil(L, 4) ? 5 : check_int(L, 4, FN, "reps");
    if (M < 1 || N < 1 || Kd < 1 || M > 1 << 16 || N > 1 << 24 || Kd > 1 << 16 || M * Kd + Kd * N + M * N > (int64_t)1 << 30)
        return fn_error(L, FN, "sizes out of range: %lld, %lld, %lld", (long long)M, (long long)N, (long long)Kd);
    if (reps < 1 || reps > 1000) return arg_error(L, FN, 4, "reps", "expected 1..1000, got %lld", (long long)reps);
    float *a = malloc((size_t)(M * Kd + Kd * N + M * N) * sizeof *a);
    double *t = malloc((size_t)reps * sizeof *t);
    if (a == NULL || t == NULL) { free(a); free(t); return fn_error(L, FN, "out of memory"); }
    float *b = a + M * Kd, *y = b + Kd * N;
    for (int64_t i = 0; i < M * Kd + Kd * N; i++) a[i] = (float)((i * 7919) % 1000) * 1e-3f - 0.5f;
    openblas_set_num_threads(cnn_get_num_threads(ctx_of(L)));
    for (int64_t r = -1; r < reps; r++) {                 /* r = -1: warm-up */
        double t0 = now_seconds();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)N, (int)Kd, 1, a, (int)Kd,
                    b, (int)N, 0, y, (int)N);
        if (r >= 0) t[r] = now_seconds() - t0;
    }
    openblas_set_num_threads(1);
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    lua_pushnumber(L, t[reps / 2]);
    free(a);
    free(t);
    return 1;
}

static const luaL_Reg bench_fns[] = { { "sgemm_time", l_sgemm_time }, { NULL, NULL } };

void cnn_open_bench(lua_State *L, int ctx, int module, int methods) {
    (void)methods;
    lua_newtable(L);
    register_fns(L, bench_fns, ctx, lua_gettop(L), 0);
    lua_setfield(L, module, "_bench");
}
