/* bench/sgemm.c: raw cblas_sgemm GFLOP/s on the sizes bench/tensor.lua multiplies, printed in
 * bench/lib.lua's RESULT format (group "matmul", case "sgemm N") so that `make bench` shows
 * the BLAS ceiling beside cnn.matmul in the same run. Threads: env CNN_THREADS, else cores.
 * Timing: the median of 5 runs (3 for 2048) after two warm-ups, with a monotonic wall clock. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void) {
    const char *env = getenv("CNN_THREADS");
    int threads = env ? atoi(env) : 0;
    if (threads > 0) openblas_set_num_threads(threads);
    threads = openblas_get_num_threads();
    const int sizes[] = { 512, 1024, 2048 };
    for (int k = 0; k < 3; k++) {
        int n = sizes[k];
        float *a = malloc(sizeof(float) * (size_t)n * n), *b = malloc(sizeof(float) * (size_t)n * n),
              *c = malloc(sizeof(float) * (size_t)n * n);
        if (!a || !b || !c) return 1;
        for (size_t i = 0; i < (size_t)n * n; i++) { a[i] = (float)(i % 7) - 3; b[i] = (float)(i % 5) - 2; }
        /* the repetitions of bench/tensor.lua: small sizes repeat inside each timed run */
        int reps = n >= 2048 ? 3 : 5, inner = n == 512 ? 20 : n == 1024 ? 3 : 1;
        double t[5];
        for (int w = 0; w < 2; w++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
        for (int r = 0; r < reps; r++) {
            double t0 = now();
            for (int i = 0; i < inner; i++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
            t[r] = (now() - t0) / inner;
        }
        qsort(t, (size_t)reps, sizeof *t, cmp);
        double s = t[reps / 2], flops = 2.0 * n * n * n;
        printf("RESULT\tmatmul\tsgemm %d\t%d\t%.6g\t%.2f\traw cblas_sgemm\n", n, threads, s, flops / s / 1e9);
        free(a); free(b); free(c);
    }
    return 0;
}
