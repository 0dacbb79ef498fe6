/* image.c: image kernels (see image.h). Resize follows PyTorch's CPU
   upsample_bilinear2d with align_corners=False: the source coordinate of
   output pixel i is (i + 0.5) * in/out - 0.5, clamped at 0, and each output
   is a weighted sum of four neighbours, rows weighted last. */
#include "image.h"
#include "parallel.h"
#include <math.h>
#include <string.h>

/* --- bilinear resize --- */

typedef struct {
  int64_t i0, i1;
  double l1; /* weight of i1; i0 gets 1 - l1 */
} tap;

static void taps(tap *tp, int64_t in, int64_t out) {
  double scale = (double)in / (double)out;
  for (int64_t i = 0; i < out; i++) {
    double src = (i + 0.5) * scale - 0.5;
    if (src < 0) src = 0;
    int64_t i0 = (int64_t)src;
    if (i0 > in - 1) i0 = in - 1;
    tp[i].i0 = i0;
    tp[i].i1 = i0 < in - 1 ? i0 + 1 : i0;
    tp[i].l1 = src - (double)i0;
  }
}

typedef struct {
  const void *in;
  void *out;
  sd_dtype dt;
  int64_t H, W, h, w;
  const tap *ty, *tx;
} resize_ctx;

/* Output rows [begin, end) over all planes: row r is row r % h of plane r / h. */
static void resize_rows(int64_t begin, int64_t end, void *p) {
  const resize_ctx *c = p;
  for (int64_t r = begin; r < end; r++) {
    int64_t plane = r / c->h;
    tap y = c->ty[r % c->h];
    double ly0 = 1 - y.l1, ly1 = y.l1;
    int64_t a = plane * c->H * c->W + y.i0 * c->W, b = plane * c->H * c->W + y.i1 * c->W;
    switch (c->dt) {
    case SD_F32: {
      const float *s0 = (const float *)c->in + a, *s1 = (const float *)c->in + b;
      float *o = (float *)c->out + r * c->w;
      for (int64_t j = 0; j < c->w; j++) {
        tap x = c->tx[j];
        o[j] = (float)(ly0 * ((1 - x.l1) * s0[x.i0] + x.l1 * s0[x.i1]) +
                       ly1 * ((1 - x.l1) * s1[x.i0] + x.l1 * s1[x.i1]));
      }
      break;
    }
    default: {
      const double *s0 = (const double *)c->in + a, *s1 = (const double *)c->in + b;
      double *o = (double *)c->out + r * c->w;
      for (int64_t j = 0; j < c->w; j++) {
        tap x = c->tx[j];
        o[j] = ly0 * ((1 - x.l1) * s0[x.i0] + x.l1 * s0[x.i1]) +
               ly1 * ((1 - x.l1) * s1[x.i0] + x.l1 * s1[x.i1]);
      }
    }
    }
  }
}

sd_tensor *sd_image_resize(const sd_tensor *t, int64_t h, int64_t w) {
  char buf[128];
  if (t->ndim < 2 || t->ndim > 4) {
    sd_error(SD_ESHAPE, "resize: image must be HxW, CxHxW or NxCxHxW, got %s", sd_shape_str(t, buf, sizeof buf));
    return NULL;
  }
  if (t->dtype != SD_F32 && t->dtype != SD_F64) {
    sd_error(SD_EARG, "resize: image must be f32 or f64, got %s", sd_dtype_name(t->dtype));
    return NULL;
  }
  int64_t H = t->shape[t->ndim - 2], W = t->shape[t->ndim - 1];
  if (h < 1 || w < 1) {
    sd_error(SD_EARG, "resize: size %lldx%lld must be positive", (long long)h, (long long)w);
    return NULL;
  }
  if (H == 0 || W == 0) {
    sd_error(SD_ESHAPE, "resize: cannot resize an empty image %s", sd_shape_str(t, buf, sizeof buf));
    return NULL;
  }
  int64_t shape[4];
  memcpy(shape, t->shape, sizeof(int64_t) * (size_t)t->ndim);
  shape[t->ndim - 2] = h;
  shape[t->ndim - 1] = w;
  sd_tensor *out = sd_empty(t->dtype, t->ndim, shape);
  sd_tensor *in = out ? sd_contiguous(t) : NULL;
  tap *tp = in ? sd_malloc(sizeof(tap) * (size_t)(h + w)) : NULL;
  if (!tp) {
    sd_release(in);
    sd_release(out);
    return NULL;
  }
  taps(tp, H, h);
  taps(tp + h, W, w);
  resize_ctx c = {sd_data(in), sd_data(out), t->dtype, H, W, h, w, tp, tp + h};
  int64_t rows = sd_numel(out) / w;
  sd_parallel_for(rows, 1 + 16384 / w, resize_rows, &c);
  sd_free(tp, sizeof(tap) * (size_t)(h + w));
  sd_release(in);
  return out;
}

/* --- flip, normalize, grid: copies through views --- */

sd_tensor *sd_image_flip(const sd_tensor *t, int dim) {
  if (sd_norm_dim(t, &dim, "flip") != SD_OK) return NULL;
  sd_tensor *out = sd_empty(t->dtype, t->ndim, t->shape);
  int64_t n = t->shape[dim];
  for (int64_t i = 0; out && i < n; i++) {
    sd_tensor *src = sd_select(t, dim, n - 1 - i), *dst = src ? sd_select(out, dim, i) : NULL;
    sd_status st = dst ? sd_copy_(dst, src) : SD_EMEM;
    sd_release(src);
    sd_release(dst);
    if (st != SD_OK) {
      sd_release(out);
      return NULL;
    }
  }
  return out;
}

sd_tensor *sd_image_normalize(const sd_tensor *t, int n, const double *mean, const double *std) {
  char buf[128];
  if (t->ndim != 3 && t->ndim != 4) {
    sd_error(SD_ESHAPE, "normalize: image must be CxHxW or NxCxHxW, got %s", sd_shape_str(t, buf, sizeof buf));
    return NULL;
  }
  int64_t C = t->shape[t->ndim - 3], HW = t->shape[t->ndim - 2] * t->shape[t->ndim - 1];
  if (n != C) {
    sd_error(SD_EARG, "normalize: %d means/stds for %lld channels of image %s", n, (long long)C,
             sd_shape_str(t, buf, sizeof buf));
    return NULL;
  }
  for (int c = 0; c < n; c++)
    if (std[c] == 0) {
      sd_error(SD_EARG, "normalize: std[%d] is 0", c + 1);
      return NULL;
    }
  sd_dtype dt = t->dtype == SD_F64 ? SD_F64 : SD_F32;
  sd_tensor *out = sd_empty(dt, t->ndim, t->shape);
  if (!out) return NULL;
  if (sd_copy_(out, t) != SD_OK) {
    sd_release(out);
    return NULL;
  }
  int64_t total = sd_numel(out);
  for (int64_t i = 0; i < total; i++) {
    int64_t c = (i / HW) % C;
    if (dt == SD_F32) {
      float *p = (float *)sd_data(out) + i;
      *p = (float)((*p - mean[c]) / std[c]);
    } else {
      double *p = (double *)sd_data(out) + i;
      *p = (*p - mean[c]) / std[c];
    }
  }
  return out;
}

sd_tensor *sd_image_grid(int n, sd_tensor *const *imgs, int64_t ncol, int64_t padding,
                         double pad_value) {
  char b0[128], b1[128];
  if (n < 1) {
    sd_error(SD_EARG, "grid: no images");
    return NULL;
  }
  if (ncol < 1 || padding < 0) {
    sd_error(SD_EARG, "grid: ncol (%lld) must be >= 1 and padding (%lld) >= 0", (long long)ncol,
             (long long)padding);
    return NULL;
  }
  const sd_tensor *a = imgs[0];
  for (int i = 0; i < n; i++)
    if (imgs[i]->ndim != 3 || !sd_same_shape(imgs[i], a)) {
      sd_error(SD_ESHAPE, "grid: image %d is %s, expected CxHxW like image 1 %s", i + 1,
               sd_shape_str(imgs[i], b0, sizeof b0), sd_shape_str(a, b1, sizeof b1));
      return NULL;
    }
  int64_t C = a->shape[0], H = a->shape[1], W = a->shape[2];
  int64_t cols = ncol < n ? ncol : n, rows = (n + cols - 1) / cols;
  int64_t shape[3] = {C, rows * (H + padding) + padding, cols * (W + padding) + padding};
  sd_tensor *out = sd_full(a->dtype, 3, shape, pad_value);
  for (int i = 0; out && i < n; i++) {
    int64_t y = (i / cols) * (H + padding) + padding, x = (i % cols) * (W + padding) + padding;
    sd_tensor *r = sd_narrow(out, 1, y, H), *cell = r ? sd_narrow(r, 2, x, W) : NULL;
    sd_status st = cell ? sd_copy_(cell, imgs[i]) : SD_EMEM;
    sd_release(cell);
    sd_release(r);
    if (st != SD_OK) {
      sd_release(out);
      return NULL;
    }
  }
  return out;
}

/* --- colormaps --- */

/* matplotlib's viridis and magma (CC0), every 5th of their 256 entries:
   linear interpolation between them is within 0.0027 of the full table. */
#define CMAP_N 52
static const float viridis[CMAP_N][3] = {
  {0.267004, 0.004874, 0.329415}, {0.273809, 0.031497, 0.358853}, {0.278791, 0.062145, 0.386592},
  {0.281924, 0.089666, 0.412415}, {0.283197, 0.115680, 0.436115}, {0.282623, 0.140926, 0.457517},
  {0.280255, 0.165693, 0.476498}, {0.276194, 0.190074, 0.493001}, {0.270595, 0.214069, 0.507052},
  {0.263663, 0.237631, 0.518762}, {0.255645, 0.260703, 0.528312}, {0.246811, 0.283237, 0.535941},
  {0.237441, 0.305202, 0.541921}, {0.227802, 0.326594, 0.546532}, {0.218130, 0.347432, 0.550038},
  {0.208623, 0.367752, 0.552675}, {0.199430, 0.387607, 0.554642}, {0.190631, 0.407061, 0.556089},
  {0.182256, 0.426184, 0.557120}, {0.174274, 0.445044, 0.557792}, {0.166617, 0.463708, 0.558119},
  {0.159194, 0.482237, 0.558073}, {0.151918, 0.500685, 0.557587}, {0.144759, 0.519093, 0.556572},
  {0.137770, 0.537492, 0.554906}, {0.131172, 0.555899, 0.552459}, {0.125394, 0.574318, 0.549086},
  {0.121148, 0.592739, 0.544641}, {0.119423, 0.611141, 0.538982}, {0.121380, 0.629492, 0.531973},
  {0.128087, 0.647749, 0.523491}, {0.140210, 0.665859, 0.513427}, {0.157851, 0.683765, 0.501686},
  {0.180653, 0.701402, 0.488189}, {0.208030, 0.718701, 0.472873}, {0.239374, 0.735588, 0.455688},
  {0.274149, 0.751988, 0.436601}, {0.311925, 0.767822, 0.415586}, {0.352360, 0.783011, 0.392636},
  {0.395174, 0.797475, 0.367757}, {0.440137, 0.811138, 0.340967}, {0.487026, 0.823929, 0.312321},
  {0.535621, 0.835785, 0.281908}, {0.585678, 0.846661, 0.249897}, {0.636902, 0.856542, 0.216620},
  {0.688944, 0.865448, 0.182725}, {0.741388, 0.873449, 0.149561}, {0.793760, 0.880678, 0.120005},
  {0.845561, 0.887322, 0.099702}, {0.896320, 0.893616, 0.096335}, {0.945636, 0.899815, 0.112838},
  {0.993248, 0.906157, 0.143936},
};
static const float magma[CMAP_N][3] = {
  {0.001462, 0.000466, 0.013866}, {0.007588, 0.006356, 0.044973}, {0.018815, 0.016026, 0.084584},
  {0.035520, 0.028397, 0.125209}, {0.056615, 0.042160, 0.167446}, {0.078815, 0.054184, 0.211667},
  {0.102815, 0.063010, 0.257854}, {0.129380, 0.067935, 0.305443}, {0.159018, 0.068354, 0.352688},
  {0.191460, 0.064818, 0.396152}, {0.225302, 0.060445, 0.431742}, {0.258857, 0.059706, 0.457710},
  {0.291366, 0.064553, 0.475462}, {0.322899, 0.073782, 0.487408}, {0.353773, 0.085373, 0.495501},
  {0.384299, 0.097855, 0.501002}, {0.414709, 0.110431, 0.504662}, {0.445163, 0.122724, 0.506901},
  {0.475780, 0.134577, 0.507921}, {0.506629, 0.145958, 0.507806}, {0.537755, 0.156894, 0.506551},
  {0.569172, 0.167454, 0.504105}, {0.600868, 0.177743, 0.500394}, {0.632805, 0.187893, 0.495332},
  {0.664915, 0.198075, 0.488836}, {0.697098, 0.208501, 0.480835}, {0.729216, 0.219437, 0.471279},
  {0.761077, 0.231214, 0.460162}, {0.792427, 0.244242, 0.447543}, {0.822926, 0.259016, 0.433573},
  {0.852126, 0.276106, 0.418573}, {0.879464, 0.296125, 0.403118}, {0.904281, 0.319610, 0.388137},
  {0.925937, 0.346844, 0.374959}, {0.944006, 0.377643, 0.365136}, {0.958464, 0.411324, 0.360014},
  {0.969680, 0.446936, 0.360311}, {0.978210, 0.483612, 0.366025}, {0.984622, 0.520713, 0.376698},
  {0.989363, 0.557873, 0.391671}, {0.992785, 0.594891, 0.410283}, {0.995122, 0.631696, 0.431951},
  {0.996580, 0.668256, 0.456192}, {0.997254, 0.704611, 0.482635}, {0.997285, 0.740772, 0.510983},
  {0.996727, 0.776795, 0.541039}, {0.995680, 0.812706, 0.572645}, {0.994222, 0.848540, 0.605696},
  {0.992440, 0.884330, 0.640099}, {0.990570, 0.920049, 0.675675}, {0.988717, 0.955742, 0.712242},
  {0.987053, 0.991438, 0.749504},
};

void sd_cmap_color(sd_cmap cm, double v, float rgb[3]) {
  if (!(v > 0)) v = 0; /* NaN too */
  if (v > 1) v = 1;
  if (cm == SD_CMAP_GRAY) {
    rgb[0] = rgb[1] = rgb[2] = (float)v;
    return;
  }
  const float (*tab)[3] = cm == SD_CMAP_MAGMA ? magma : viridis;
  double x = v * (CMAP_N - 1);
  int i = (int)x;
  if (i > CMAP_N - 2) i = CMAP_N - 2;
  double f = x - i;
  for (int k = 0; k < 3; k++) rgb[k] = (float)((1 - f) * tab[i][k] + f * tab[i + 1][k]);
}

/* Colours of the n doubles at v into the planes of out (3 x n f32). */
static void colorize(const double *v, int64_t n, sd_cmap cm, double vmin, double vmax, float *out) {
  double span = vmax - vmin;
  for (int64_t i = 0; i < n; i++) {
    float rgb[3] = {0, 0, 0};
    if (!isnan(v[i])) sd_cmap_color(cm, span > 0 ? (v[i] - vmin) / span : 0, rgb);
    for (int k = 0; k < 3; k++) out[k * n + i] = rgb[k];
  }
}

/* vmin/vmax of the n doubles at v where they are NaN (NaN pixels skipped). */
static void auto_range(const double *v, int64_t n, double *vmin, double *vmax) {
  double lo = INFINITY, hi = -INFINITY;
  for (int64_t i = 0; i < n; i++)
    if (!isnan(v[i])) {
      if (v[i] < lo) lo = v[i];
      if (v[i] > hi) hi = v[i];
    }
  if (lo > hi) lo = hi = 0;
  if (isnan(*vmin)) *vmin = lo;
  if (isnan(*vmax)) *vmax = hi;
}

/* A contiguous f64 copy of the H x W map t (or of a 1 x H x W one). */
static sd_tensor *map_f64(const sd_tensor *t, const char *fn) {
  char buf[128];
  if (t->ndim != 2 && !(t->ndim == 3 && t->shape[0] == 1)) {
    sd_error(SD_ESHAPE, "%s: map must be HxW (or 1xHxW), got %s", fn, sd_shape_str(t, buf, sizeof buf));
    return NULL;
  }
  int64_t shape[2] = {t->shape[t->ndim - 2], t->shape[t->ndim - 1]};
  sd_tensor *m = sd_empty(SD_F64, 2, shape), *v = m ? sd_reshape(t, 2, shape) : NULL;
  sd_status st = v ? sd_copy_(m, v) : SD_EMEM;
  sd_release(v);
  if (st != SD_OK) {
    sd_release(m);
    return NULL;
  }
  return m;
}

sd_tensor *sd_image_heatmap(const sd_tensor *t, sd_cmap cm, double vmin, double vmax) {
  sd_tensor *m = map_f64(t, "heatmap");
  if (!m) return NULL;
  int64_t shape[3] = {3, m->shape[0], m->shape[1]}, n = shape[1] * shape[2];
  sd_tensor *out = sd_empty(SD_F32, 3, shape);
  if (out) {
    auto_range(sd_data(m), n, &vmin, &vmax);
    colorize(sd_data(m), n, cm, vmin, vmax, sd_data(out));
  }
  sd_release(m);
  return out;
}

sd_tensor *sd_image_overlay(const sd_tensor *img, const sd_tensor *map, double alpha,
                            sd_cmap cm, double vmin, double vmax) {
  char b0[128];
  if (img->ndim != 3 || (img->shape[0] != 1 && img->shape[0] != 3)) {
    sd_error(SD_ESHAPE, "overlay: image must be 1xHxW or 3xHxW, got %s", sd_shape_str(img, b0, sizeof b0));
    return NULL;
  }
  if (!(alpha >= 0 && alpha <= 1)) {
    sd_error(SD_EARG, "overlay: alpha %g must be in [0,1]", alpha);
    return NULL;
  }
  int64_t H = img->shape[1], W = img->shape[2];
  sd_tensor *m = map_f64(map, "overlay");
  sd_tensor *r = m ? sd_image_resize(m, H, W) : NULL;
  int64_t shape[3] = {3, H, W}, n = H * W;
  sd_tensor *out = r ? sd_empty(SD_F32, 3, shape) : NULL;
  sd_tensor *px = out ? sd_empty(SD_F64, 3, img->shape) : NULL;
  if (px && sd_copy_(px, img) == SD_OK) {
    auto_range(sd_data(r), n, &vmin, &vmax);
    float *o = sd_data(out);
    colorize(sd_data(r), n, cm, vmin, vmax, o);
    const double *p = sd_data(px);
    double scale = img->dtype == SD_U8 ? 1.0 / 255 : 1;
    for (int k = 0; k < 3; k++)
      for (int64_t i = 0; i < n; i++) {
        double v = p[(img->shape[0] == 3 ? k * n : 0) + i] * scale;
        o[k * n + i] = (float)((1 - alpha) * v + alpha * o[k * n + i]);
      }
  } else {
    sd_release(out);
    out = NULL;
  }
  sd_release(px);
  sd_release(r);
  sd_release(m);
  return out;
}
