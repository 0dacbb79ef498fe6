/* detect.h: kernels of the `detect` module and of the ranking metrics
   (metrics.auroc, aupr, roc_curve, ...): plain C over tensors, no Lua.

   Ranking conventions: scores, higher = more positive; labels 0/1 of the
   same shape (1 = positive / anomalous), any dtype. Scores are compared as
   f64 (f32 converts exactly); NaN scores are an error. Ties are grouped
   into one operating point, as scikit-learn 1.2 does. */
#ifndef SD_DETECT_H
#define SD_DETECT_H

#include "../core/tensor.h"

/* --- ranking metrics (rank.c) --- */

/* AUROC = P(s+ > s-) + 1/2 P(s+ = s-), exactly (Mann-Whitney U / PN). */
sd_status sd_rank_auroc(const sd_tensor *s, const sd_tensor *y, double *out);
/* Average precision, sum over distinct thresholds of (R_k - R_k-1) P_k
   (scikit-learn's average_precision_score). */
sd_status sd_rank_ap(const sd_tensor *s, const sd_tensor *y, double *out);
/* Trapezoid area under pr_curve's points (scikit-learn's auc(recall, precision)). */
sd_status sd_rank_aupr_trapz(const sd_tensor *s, const sd_tensor *y, double *out);
/* scikit-learn 1.2's roc_curve: (0,0) first with threshold max+1, then one
   point per distinct threshold, descending; drop removes collinear points. */
sd_status sd_rank_roc(const sd_tensor *s, const sd_tensor *y, bool drop, sd_tensor **fpr,
                      sd_tensor **tpr, sd_tensor **thr);
/* scikit-learn 1.2's precision_recall_curve: thresholds ascending, then the
   final point precision 1, recall 0 (precision, recall have one more entry). */
sd_status sd_rank_pr(const sd_tensor *s, const sd_tensor *y, sd_tensor **precision,
                     sd_tensor **recall, sd_tensor **thr);

/* MVTec AD's normalised area under the per-region-overlap curve up to
   fpr_limit (rank_pro.c): maps and 0/1 masks of one shape [.., H, W];
   regions are 8-connected components of each H x W mask. */
sd_status sd_rank_pro(const sd_tensor *maps, const sd_tensor *masks, double fpr_limit, double *out);

/* How fpr_at_tpr picks its operating point on the ROC of all distinct thresholds. */
typedef enum {
  SD_RANK_FIRST_GE,  /* the first point (highest threshold) with TPR >= t */
  SD_RANK_NEAREST,   /* the point with TPR closest to t (first of equals) */
  SD_RANK_QUANTILE   /* thr = the floor(t P)-th largest positive score, FPR = #{s- >= thr}/N */
} sd_rank_rule;
sd_status sd_rank_fpr_at_tpr(const sd_tensor *s, const sd_tensor *y, double t, sd_rank_rule rule,
                             double *out);
/* The largest TPR over ROC points with FPR <= x (FPR < x when strict). */
sd_status sd_rank_tpr_at_fpr(const sd_tensor *s, const sd_tensor *y, double x, bool strict,
                             double *out);

/* --- nearest neighbours (detect_knn.c) --- */

/* The k (<= 64) nearest bank rows of each row of x, by GEMM then exact
   recomputation: dist [n,k] ascending (f32, or f64 if either is f64) and
   idx [n,k] (1-based bank rows, ties by position). */
sd_status sd_knn(const sd_tensor *x, const sd_tensor *bank, int64_t k, sd_tensor **dist, sd_tensor **idx);

/* Greedy k-center (PatchCore's coreset) of the rows of x [n,d]: m 1-based
   row indices (i64), the first drawn from seed (detect_coreset.c). */
sd_tensor *sd_coreset(const sd_tensor *x, int64_t m, uint64_t seed);

/* --- isolation forest (detect_iforest.c) --- */

/* Grows n_trees trees on max_samples rows each (fewer when n is smaller),
   seeded: nodes [M,4] f64 (feature or -1, threshold or leaf size, left,
   right) and roots [n_trees] i64 (0-based rows of nodes). */
sd_tensor *sd_iforest_fit(const sd_tensor *x, int64_t n_trees, int64_t max_samples, uint64_t seed,
                          sd_tensor **roots);
/* 2^(-mean path length / c(psi)) per row of x: higher = more anomalous. */
sd_tensor *sd_iforest_score(const sd_tensor *nodes, const sd_tensor *roots, const sd_tensor *x,
                            int64_t psi);
/* c(n), the mean path length of an unsuccessful BST search over n points. */
double sd_iforest_c(double n);

/* --- ECOD's empirical CDFs (detect_ecdf.c) --- */

/* For train columns sorted ascending [n,d] and x [m,d]: le[i,j] = #{train
   values of feature j <= x[i,j]}, ge[i,j] = #{... >= x[i,j]} (i64). */
sd_status sd_ecdf_counts(const sd_tensor *sorted, const sd_tensor *x, sd_tensor **le, sd_tensor **ge);

#endif
