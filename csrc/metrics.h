/* metrics.h: evaluation numerics on double arrays (metrics.c). Labels: 0 negative, else positive. */
#ifndef CNN_METRICS_H
#define CNN_METRICS_H
#include "cnn.h"

int cnn_midranks(cnn_ctx *c, const double *x, int64_t n, double *rank);
/* ROC points by decreasing threshold; fpr/tpr/thr need n + 1 slots */
int cnn_roc(cnn_ctx *c, const double *s, const double *y, int64_t n, double *fpr, double *tpr,
            double *thr, int64_t *npts);
/* AUC and (var != NULL) its DeLong variance */
int cnn_auc(cnn_ctx *c, const double *s, const double *y, int64_t n, double *auc, double *var);
/* nboot AUC replicates into out; groups NULL: stratified by class */
int cnn_auc_bootstrap(cnn_ctx *c, const double *s, const double *y, const double *groups, int64_t n,
                      int64_t nboot, cnn_rng *r, double *out);
double cnn_normal_quantile(double p);
/* m (C x C), rows = target, columns = prediction; classes 1..C */
int cnn_confusion(cnn_ctx *c, const double *pred, const double *target, int64_t n, int64_t C, double *m);
void cnn_calibration(const double *s, const double *y, int64_t n, int64_t bins, double *mean_pred,
                     double *frac_pos, double *count);
#endif
