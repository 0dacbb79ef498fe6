/* rank_pro.c: the per-region overlap (PRO) curve of MVTec AD (Bergmann et
   al. 2021) and its normalised area. The regions are the 8-connected
   components C_k of the ground-truth masks, image by image. At threshold t,
   PRO(t) = mean_k |{p in C_k : s(p) >= t}| / |C_k| and FPR(t) = share of
   normal pixels with s >= t. Pixels are sorted by score; tied scores move
   together (one point per distinct threshold, after (0, 0)); the trapezoid
   area up to fpr_limit, with the last point interpolated linearly at the
   limit, is divided by fpr_limit (as anomalib's AUPRO). */
#include "detect.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct { double s, w; int normal; } pixel;

static int by_score_desc(const void *a, const void *b) {
  double x = ((const pixel *)a)->s, y = ((const pixel *)b)->s;
  return x < y ? 1 : x > y ? -1 : 0;
}

/* 8-connected components of one H x W mask (flood fill with a stack):
   lab[p] = component number from 1 (0 for background); returns the count
   after first, and adds each component's size to size[]. */
static int64_t label(const uint8_t *m, int64_t h, int64_t w, int64_t first, int64_t *lab,
                     int64_t *stack, int64_t *size) {
  int64_t next = first;
  for (int64_t p = 0; p < h * w; p++) {
    if (!m[p] || lab[p]) continue;
    int64_t top = 0, c = ++next;
    lab[p] = c;
    stack[top++] = p;
    size[c] = 0;
    while (top) {
      int64_t q = stack[--top], y = q / w, x = q % w;
      size[c]++;
      for (int64_t dy = -1; dy <= 1; dy++)
        for (int64_t dx = -1; dx <= 1; dx++) {
          int64_t yy = y + dy, xx = x + dx, r = yy * w + xx;
          if (yy < 0 || yy >= h || xx < 0 || xx >= w || !m[r] || lab[r]) continue;
          lab[r] = c;
          stack[top++] = r;
        }
    }
  }
  return next;
}

sd_status sd_rank_pro(const sd_tensor *maps, const sd_tensor *masks, double fpr_limit, double *out) {
  char b1[64], b2[64];
  if (!sd_same_shape(maps, masks) || maps->ndim < 2)
    return sd_error(SD_ESHAPE, "pro: maps %s and masks %s must have one shape [.., H, W]",
                    sd_shape_str(maps, b1, sizeof b1), sd_shape_str(masks, b2, sizeof b2));
  if (!(fpr_limit > 0 && fpr_limit <= 1))
    return sd_error(SD_EARG, "pro: fpr_limit must be in (0, 1], got %g", fpr_limit);
  int64_t n = sd_numel(maps), h = maps->shape[maps->ndim - 2], w = maps->shape[maps->ndim - 1];
  int64_t hw = h * w, imgs = hw ? n / hw : 0;
  sd_tensor *s64 = sd_to_dtype(maps, SD_F64), *sc = s64 ? sd_contiguous(s64) : NULL;
  sd_tensor *m64 = sd_to_dtype(masks, SD_F64), *mc = m64 ? sd_contiguous(m64) : NULL;
  sd_release(s64);
  sd_release(m64);
  size_t pb = (size_t)n * sizeof(pixel), ib = (size_t)(hw + 1) * sizeof(int64_t);
  pixel *px = sd_malloc(pb);
  uint8_t *m = sd_malloc((size_t)hw + 1);
  int64_t *lab = sd_malloc(ib), *stack = sd_malloc(ib), *size = sd_malloc(ib);
  sd_status st = SD_EMEM;
  if (!sc || !mc || !px || !m || !lab || !stack || !size) goto done;
  const double *sv = sd_data(sc), *mv = sd_data(mc);
  int64_t regions = 0, normal = 0;
  st = SD_OK;
  for (int64_t i = 0; i < n; i++) {
    if (mv[i] != 0 && mv[i] != 1) {
      st = sd_error(SD_EARG, "pro: masks must be 0 or 1, found %g at position %lld", mv[i], (long long)(i + 1));
      goto done;
    }
    if (isnan(sv[i])) {
      st = sd_error(SD_EARG, "pro: score at position %lld is NaN", (long long)(i + 1));
      goto done;
    }
  }
  /* first pass: count regions and normal pixels; the weights need the total */
  for (int pass = 0; pass < 2; pass++) {
    int64_t base = 0;
    for (int64_t k = 0; k < imgs; k++) {
      for (int64_t p = 0; p < hw; p++) m[p] = mv[k * hw + p] == 1;
      memset(lab, 0, (size_t)hw * sizeof *lab);
      int64_t count = label(m, h, w, 0, lab, stack, size) ;
      for (int64_t p = 0; p < hw && pass == 1; p++) {
        pixel *q = &px[k * hw + p];
        q->s = sv[k * hw + p] + 0.0;
        q->normal = !m[p];
        q->w = m[p] ? 1.0 / (double)size[lab[p]] / (double)regions : 1.0 / (double)normal;
      }
      base += count;
      if (pass == 0) for (int64_t p = 0; p < hw; p++) normal += !m[p];
    }
    if (pass == 0) regions = base;
  }
  if (regions == 0 || normal == 0) {
    st = sd_error(SD_EARG, "pro: the masks need %s", regions == 0 ? "an anomalous region" : "normal pixels");
    goto done;
  }
  qsort(px, (size_t)n, sizeof *px, by_score_desc);
  double area = 0, f0 = 0, p0 = 0, fpr = 0, pro = 0;
  for (int64_t i = 0; i < n;) {
    double s = px[i].s;
    for (; i < n && px[i].s == s; i++) {
      if (px[i].normal) fpr += px[i].w; else pro += px[i].w;
    }
    if (fpr >= fpr_limit) { /* interpolate at the limit and stop */
      double p = fpr > f0 ? p0 + (pro - p0) * (fpr_limit - f0) / (fpr - f0) : pro;
      area += (fpr_limit - f0) * (p0 + p) / 2;
      f0 = fpr_limit;
      break;
    }
    area += (fpr - f0) * (p0 + pro) / 2;
    f0 = fpr;
    p0 = pro;
  }
  *out = area / fpr_limit;
done:
  sd_free(px, pb);
  sd_free(m, (size_t)hw + 1);
  sd_free(lab, ib); sd_free(stack, ib); sd_free(size, ib);
  sd_release(sc);
  sd_release(mc);
  return st;
}
