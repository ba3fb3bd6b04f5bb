/* gen.h: compiles CNN_GEN_FILE twice, once for float (names end in _f32) and once for double
 * (_f64). Only the arithmetic is generic: real_t, acc_t (the type sums are kept in), K(name),
 * RM(fn) (libm function of the right precision) and the BLAS calls. Everything else is plain C. */
#ifndef CNN_GEN_FILE
#error "define CNN_GEN_FILE before including gen.h"
#endif
#include <cblas.h>
#include <math.h>

#define real_t float
#define acc_t double
#define K(name) name##_f32
#define RM(fn) fn##f
#define GEMM cblas_sgemm
#define REAL_EPS 1.1920928955078125e-07
#include CNN_GEN_FILE
#undef real_t
#undef acc_t
#undef K
#undef RM
#undef GEMM
#undef REAL_EPS

#define real_t double
#define acc_t double
#define K(name) name##_f64
#define RM(fn) fn
#define GEMM cblas_dgemm
#define REAL_EPS 2.220446049250313e-16
#include CNN_GEN_FILE
#undef real_t
#undef acc_t
#undef K
#undef RM
#undef GEMM
#undef REAL_EPS

#undef CNN_GEN_FILE
