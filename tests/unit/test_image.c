/* test_image.c: image kernels (image.c): bilinear resize against a naive
   f64 loop on contiguous, transposed and batched inputs, identity and
   constant invariants, size-1 and empty inputs; flip, normalize and grid
   against direct reads; colormap endpoints; heatmap and overlay; errors. */
#include "unit.h"
#include "image.h"
#include "parallel.h"
#include <string.h>

static double at(const sd_tensor *t, const int64_t *idx) {
  int64_t off = t->offset;
  for (int d = 0; d < t->ndim; d++) off += idx[d] * t->stride[d];
  return sd_get_ptr(t->dtype, (char *)t->storage->data + off * (int64_t)sd_dtype_size(t->dtype));
}

static sd_tensor *wave(sd_dtype dt, int nd, const int64_t *shape) {
  sd_tensor *t = sd_empty(dt, nd, shape);
  ck_assert_ptr_nonnull(t);
  for (int64_t i = 0, n = sd_numel(t); i < n; i++)
    sd_set_ptr(dt, (char *)sd_data(t) + i * (int64_t)sd_dtype_size(dt), sin(0.7 * (double)i));
  return t;
}

/* The source coordinate of output index i: (i + 0.5) * in / out - 0.5, >= 0. */
static void src(int64_t i, int64_t in, int64_t out, int64_t *i0, int64_t *i1, double *l) {
  double s = fmax(0, (i + 0.5) * (double)in / (double)out - 0.5);
  *i0 = (int64_t)floor(s);
  *i1 = *i0 + 1 < in ? *i0 + 1 : in - 1;
  *l = s - (double)*i0;
}

/* Naive bilinear reference at output (plane index prefix pre, y, x). */
static double ref_resize(const sd_tensor *t, const int64_t *pre, int64_t y, int64_t x, int64_t h, int64_t w) {
  int nd = t->ndim;
  int64_t H = t->shape[nd - 2], W = t->shape[nd - 1], y0, y1, x0, x1, idx[4];
  double ly, lx;
  src(y, H, h, &y0, &y1, &ly);
  src(x, W, w, &x0, &x1, &lx);
  memcpy(idx, pre, sizeof(int64_t) * (size_t)(nd - 2));
  double v[2][2];
  int64_t ys[2] = {y0, y1}, xs[2] = {x0, x1};
  for (int a = 0; a < 2; a++)
    for (int b = 0; b < 2; b++) {
      idx[nd - 2] = ys[a];
      idx[nd - 1] = xs[b];
      v[a][b] = at(t, idx);
    }
  return (1 - ly) * ((1 - lx) * v[0][0] + lx * v[0][1]) + ly * ((1 - lx) * v[1][0] + lx * v[1][1]);
}

static void check_resize(const sd_tensor *t, int64_t h, int64_t w, double tol) {
  sd_tensor *r = sd_image_resize(t, h, w);
  ck_assert_ptr_nonnull(r);
  ck_assert_int_eq(r->dtype, t->dtype);
  ck_assert_int_eq(r->ndim, t->ndim);
  ck_assert(sd_is_contiguous(r));
  int nd = t->ndim;
  ck_assert_int_eq(r->shape[nd - 2], h);
  ck_assert_int_eq(r->shape[nd - 1], w);
  int64_t planes = sd_numel(r) / (h * w);
  for (int64_t p = 0; p < planes; p++) {
    int64_t pre[2] = {0, 0}, q = p;
    for (int d = nd - 3; d >= 0; d--) { pre[d] = q % t->shape[d]; q /= t->shape[d]; }
    for (int64_t y = 0; y < h; y++)
      for (int64_t x = 0; x < w; x++) {
        double got = sd_get_flat(r, (p * h + y) * w + x);
        ck_assert_double_eq_tol(got, ref_resize(t, pre, y, x, h, w), tol);
      }
  }
  sd_release(r);
}

START_TEST(resize_matches_naive) {
  int64_t s3[3] = {3, 5, 7}, s4[4] = {2, 3, 8, 6}, s2[2] = {4, 9};
  sd_tensor *a = wave(SD_F32, 3, s3), *b = wave(SD_F64, 4, s4), *c = wave(SD_F32, 2, s2);
  int64_t sizes[][2] = {{9, 13}, {3, 4}, {1, 1}, {5, 7}, {17, 2}, {2, 30}};
  for (int k = 0; k < 6; k++) {
    check_resize(a, sizes[k][0], sizes[k][1], 1e-6);
    check_resize(b, sizes[k][0], sizes[k][1], 1e-12);
    check_resize(c, sizes[k][0], sizes[k][1], 1e-6);
  }
  sd_tensor *ct = sd_transpose(a, 1, 2); /* non-contiguous 3x7x5 */
  check_resize(ct, 4, 11, 1e-6);
  /* stride-0 broadcast batch */
  sd_tensor *bc = sd_expand(ct, 4, (int64_t[]){3, 3, 7, 5});
  check_resize(bc, 6, 2, 1e-6);
  sd_release(bc);
  sd_release(ct);
  sd_release(a);
  sd_release(b);
  sd_release(c);
}
END_TEST

START_TEST(resize_invariants) {
  int64_t s[3] = {2, 5, 7};
  sd_tensor *t = wave(SD_F32, 3, s);
  sd_tensor *r = sd_image_resize(t, 5, 7);
  for (int64_t i = 0; i < sd_numel(t); i++) ck_assert(sd_get_flat(r, i) == sd_get_flat(t, i));
  sd_release(r);
  sd_tensor *k = sd_full(SD_F64, 3, s, 0.3);
  r = sd_image_resize(k, 13, 3);
  for (int64_t i = 0; i < sd_numel(r); i++) ck_assert_double_eq_tol(sd_get_flat(r, i), 0.3, 1e-15);
  sd_release(r);
  /* 2x2 -> 4x4 by hand: first row 1, 1.25, 1.75, 2 */
  sd_tensor *q = unit_iota(SD_F32, 2, (int64_t[]){2, 2});
  r = sd_image_resize(q, 4, 4);
  double row[4] = {0, 0.25, 0.75, 1};
  for (int j = 0; j < 4; j++) ck_assert_double_eq_tol(sd_get_flat(r, j), row[j], 1e-7);
  sd_release(r);
  /* a 1x1 image spreads everywhere; an empty batch gives an empty batch */
  sd_tensor *one = sd_full(SD_F32, 2, (int64_t[]){1, 1}, 4);
  r = sd_image_resize(one, 3, 2);
  for (int i = 0; i < 6; i++) ck_assert(sd_get_flat(r, i) == 4);
  sd_release(r);
  sd_tensor *none = sd_zeros(SD_F32, 4, (int64_t[]){0, 3, 4, 4});
  r = sd_image_resize(none, 2, 2);
  ck_assert_ptr_nonnull(r);
  ck_assert_int_eq(r->shape[0], 0);
  ck_assert_int_eq(r->shape[3], 2);
  sd_release(r);
  sd_release(none);
  sd_release(one);
  sd_release(q);
  sd_release(k);
  sd_release(t);
}
END_TEST

START_TEST(resize_errors) {
  sd_tensor *v = sd_zeros(SD_F32, 1, (int64_t[]){5});
  ck_assert_ptr_null(sd_image_resize(v, 2, 2));
  ck_assert_ptr_nonnull(strstr(sd_errmsg(), "[5]"));
  sd_tensor *i = sd_zeros(SD_I64, 2, (int64_t[]){2, 2});
  ck_assert_ptr_null(sd_image_resize(i, 2, 2));
  ck_assert_ptr_nonnull(strstr(sd_errmsg(), "f32 or f64"));
  sd_tensor *e = sd_zeros(SD_F32, 2, (int64_t[]){0, 3});
  ck_assert_ptr_null(sd_image_resize(e, 2, 2));
  ck_assert_ptr_nonnull(strstr(sd_errmsg(), "[0,3]"));
  ck_assert_ptr_null(sd_image_resize(i, 0, 2));
  sd_release(v);
  sd_release(i);
  sd_release(e);
}
END_TEST

START_TEST(flip_and_normalize) {
  int64_t s[4] = {2, 3, 4, 5};
  sd_tensor *t = unit_iota(SD_I64, 4, s);
  sd_tensor *h = sd_image_flip(t, 3), *v = sd_image_flip(t, 2);
  for (int64_t a = 0; a < 2; a++)
    for (int64_t c = 0; c < 3; c++)
      for (int64_t y = 0; y < 4; y++)
        for (int64_t x = 0; x < 5; x++) {
          int64_t i[4] = {a, c, y, x}, ih[4] = {a, c, y, 4 - x}, iv[4] = {a, c, 3 - y, x};
          ck_assert(at(h, i) == at(t, ih));
          ck_assert(at(v, i) == at(t, iv));
        }
  ck_assert_ptr_null(sd_image_flip(t, 7));
  double mean[3] = {1, 2, 3}, std[3] = {2, 4, 8};
  sd_tensor *n = sd_image_normalize(t, 3, mean, std);
  ck_assert_int_eq(n->dtype, SD_F32);
  for (int64_t k = 0; k < sd_numel(t); k++) {
    int64_t c = (k / 20) % 3;
    ck_assert_double_eq_tol(sd_get_flat(n, k), (sd_get_flat(t, k) - mean[c]) / std[c], 1e-5);
  }
  ck_assert_ptr_null(sd_image_normalize(t, 2, mean, std));
  ck_assert_ptr_nonnull(strstr(sd_errmsg(), "2 means/stds for 3 channels"));
  std[1] = 0;
  ck_assert_ptr_null(sd_image_normalize(t, 3, mean, std));
  sd_release(n);
  sd_release(h);
  sd_release(v);
  sd_release(t);
}
END_TEST

START_TEST(grid_layout) {
  int64_t s[3] = {2, 3, 4};
  sd_tensor *im[5];
  for (int i = 0; i < 5; i++) im[i] = sd_full(SD_F32, 3, s, i);
  sd_tensor *g = sd_image_grid(5, im, 3, 2, -1);
  ck_assert_ptr_nonnull(g);
  /* 2 rows x 3 cols of 3x4, padding 2 */
  ck_assert_int_eq(g->shape[0], 2);
  ck_assert_int_eq(g->shape[1], 2 * 5 + 2);
  ck_assert_int_eq(g->shape[2], 3 * 6 + 2);
  for (int64_t c = 0; c < 2; c++)
    for (int64_t y = 0; y < g->shape[1]; y++)
      for (int64_t x = 0; x < g->shape[2]; x++) {
        int64_t r = (y - 2) / 5, col = (x - 2) / 6, i = r * 3 + col;
        bool in = y >= 2 && x >= 2 && (y - 2) % 5 < 3 && (x - 2) % 6 < 4 && i < 5;
        ck_assert(at(g, (int64_t[]){c, y, x}) == (in ? (double)i : -1));
      }
  sd_release(g);
  g = sd_image_grid(2, im, 8, 0, 0); /* ncol larger than n: one row */
  ck_assert_int_eq(g->shape[1], 3);
  ck_assert_int_eq(g->shape[2], 8);
  sd_release(g);
  sd_tensor *odd = sd_zeros(SD_F32, 3, (int64_t[]){2, 3, 5});
  sd_tensor *two[2] = {im[0], odd};
  ck_assert_ptr_null(sd_image_grid(2, two, 2, 2, 0));
  ck_assert_ptr_nonnull(strstr(sd_errmsg(), "image 2 is [2,3,5]"));
  ck_assert_ptr_null(sd_image_grid(0, im, 2, 2, 0));
  ck_assert_ptr_null(sd_image_grid(1, im, 0, 2, 0));
  sd_release(odd);
  for (int i = 0; i < 5; i++) sd_release(im[i]);
}
END_TEST

START_TEST(colormaps) {
  float rgb[3];
  sd_cmap_color(SD_CMAP_VIRIDIS, 0, rgb);
  ck_assert_float_eq_tol(rgb[0], 0.267004f, 1e-6f);
  ck_assert_float_eq_tol(rgb[2], 0.329415f, 1e-6f);
  sd_cmap_color(SD_CMAP_VIRIDIS, 1, rgb);
  ck_assert_float_eq_tol(rgb[1], 0.906157f, 1e-6f);
  sd_cmap_color(SD_CMAP_MAGMA, 2, rgb); /* clamped */
  ck_assert_float_eq_tol(rgb[2], 0.749504f, 1e-6f);
  sd_cmap_color(SD_CMAP_MAGMA, NAN, rgb);
  ck_assert_float_eq_tol(rgb[0], 0.001462f, 1e-6f);
  /* viridis entry 64 (of 0..255), between two stored samples */
  sd_cmap_color(SD_CMAP_VIRIDIS, 64.0 / 255, rgb);
  ck_assert_float_eq_tol(rgb[0], 0.229739f, 1.0f / 255);
  ck_assert_float_eq_tol(rgb[1], 0.322361f, 1.0f / 255);
  ck_assert_float_eq_tol(rgb[2], 0.545706f, 1.0f / 255);
  sd_cmap_color(SD_CMAP_GRAY, 0.25, rgb);
  ck_assert(rgb[0] == 0.25f && rgb[2] == 0.25f);

  sd_tensor *m = unit_iota(SD_F64, 2, (int64_t[]){2, 3});
  sd_tensor *h = sd_image_heatmap(m, SD_CMAP_GRAY, NAN, NAN);
  ck_assert_int_eq(h->shape[0], 3);
  for (int64_t i = 0; i < 6; i++) ck_assert_double_eq_tol(sd_get_flat(h, 12 + i), i / 5.0, 1e-7);
  sd_release(h);
  sd_tensor *mt = sd_transpose(m, 0, 1); /* 3x2 view */
  h = sd_image_heatmap(mt, SD_CMAP_GRAY, 0, 10);
  ck_assert_double_eq_tol(sd_get_flat(h, 1), 0.3, 1e-7);
  sd_release(h);
  sd_tensor *rgb3 = sd_zeros(SD_F32, 3, (int64_t[]){3, 2, 2});
  ck_assert_ptr_null(sd_image_heatmap(rgb3, SD_CMAP_GRAY, 0, 1));
  ck_assert_ptr_nonnull(strstr(sd_errmsg(), "heatmap: map must be HxW (or 1xHxW), got [3,2,2]"));
  sd_release(rgb3);
  sd_release(mt);
  sd_release(m);
}
END_TEST

START_TEST(overlay_blend) {
  sd_tensor *img = sd_full(SD_U8, 3, (int64_t[]){1, 4, 6}, 255);
  sd_tensor *map = sd_full(SD_F32, 2, (int64_t[]){2, 3}, 1);
  sd_tensor *o = sd_image_overlay(img, map, 0.25, SD_CMAP_GRAY, 0, 2);
  ck_assert_ptr_nonnull(o);
  ck_assert_int_eq(o->shape[0], 3);
  ck_assert_int_eq(o->shape[1], 4);
  ck_assert_int_eq(o->shape[2], 6);
  for (int64_t i = 0; i < sd_numel(o); i++) ck_assert_double_eq_tol(sd_get_flat(o, i), 0.75 + 0.25 * 0.5, 1e-6);
  sd_release(o);
  ck_assert_ptr_null(sd_image_overlay(img, map, 1.5, SD_CMAP_GRAY, 0, 1));
  ck_assert_ptr_null(sd_image_overlay(map, map, 0.5, SD_CMAP_GRAY, 0, 1));
  ck_assert_ptr_nonnull(strstr(sd_errmsg(), "overlay: image"));
  sd_release(map);
  sd_release(img);
}
END_TEST

int main(void) {
  Suite *s = suite_create("image");
  TCase *tc = tcase_create("image");
  tcase_add_test(tc, resize_matches_naive);
  tcase_add_test(tc, resize_invariants);
  tcase_add_test(tc, resize_errors);
  tcase_add_test(tc, flip_and_normalize);
  tcase_add_test(tc, grid_layout);
  tcase_add_test(tc, colormaps);
  tcase_add_test(tc, overlay_blend);
  suite_add_tcase(s, tc);
  return unit_run(s);
}
