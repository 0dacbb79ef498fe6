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

#endif
