/* test_tensor.c: tensor life cycle, views, iteration and copies. */
#include "unit.h"
#include <string.h>

START_TEST(empty_and_zeros) {
  int64_t sh[3] = {2, 3, 4};
  sd_tensor *t = sd_zeros(SD_F32, 3, sh);
  ck_assert_ptr_nonnull(t);
  ck_assert_int_eq(sd_numel(t), 24);
  ck_assert(sd_is_contiguous(t));
  ck_assert_int_eq(t->stride[0], 12);
  for (int i = 0; i < 24; i++) ck_assert(((float *)sd_data(t))[i] == 0);
  sd_release(t);
  sd_tensor *s = sd_zeros(SD_F64, 0, NULL);
  ck_assert_int_eq(sd_numel(s), 1);
  sd_release(s);
  int64_t e[2] = {0, 5};
  sd_tensor *z = sd_empty(SD_I64, 2, e);
  ck_assert_int_eq(sd_numel(z), 0);
  sd_release(z);
}
END_TEST

START_TEST(rejects_bad_shapes) {
  int64_t neg[2] = {3, -2};
  ck_assert_ptr_null(sd_empty(SD_F32, 2, neg));
  ck_assert(strstr(sd_errmsg(), "negative") != NULL);
  int64_t huge[3] = {1 << 30, 1 << 30, 1 << 30};
  ck_assert_ptr_null(sd_empty(SD_F32, 3, huge));
  ck_assert(strstr(sd_errmsg(), "too large") != NULL);
  int64_t zero_huge[3] = {0, (int64_t)1 << 40, (int64_t)1 << 40}; /* strides would overflow */
  ck_assert_ptr_null(sd_empty(SD_F32, 3, zero_huge));
  int64_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  ck_assert_ptr_null(sd_empty(SD_F32, 9, nine));
}
END_TEST

START_TEST(views_share_storage) {
  int64_t sh[2] = {3, 4};
  sd_tensor *t = unit_iota(SD_F32, 2, sh);
  sd_tensor *tt = sd_transpose(t, 0, 1);
  ck_assert_ptr_eq(tt->storage, t->storage);
  ck_assert(!sd_is_contiguous(tt));
  ck_assert(sd_get_flat(tt, 1) == 4); /* tt[0][1] = t[1][0] */
  sd_tensor *n = sd_narrow(t, 1, 1, 2);
  ck_assert(sd_get_flat(n, 0) == 1 && sd_get_flat(n, 2) == 5);
  sd_tensor *s = sd_select(t, 0, 2);
  ck_assert_int_eq(s->ndim, 1);
  ck_assert(sd_get_flat(s, 3) == 11);
  ck_assert_ptr_null(sd_select(t, 0, 3));
  int64_t v[1] = {-1};
  ck_assert_ptr_null(sd_view(tt, 1, v)); /* strides forbid */
  sd_tensor *r = sd_reshape(tt, 1, v);    /* copies */
  ck_assert(sd_is_contiguous(r));
  ck_assert(sd_get_flat(r, 1) == 4);
  sd_release(r); sd_release(s); sd_release(n); sd_release(tt);
  sd_release(t);
}
END_TEST

START_TEST(view_merges_and_splits) {
  int64_t sh[3] = {2, 3, 4};
  sd_tensor *t = unit_iota(SD_F64, 3, sh);
  int64_t v2[2] = {6, 4};
  sd_tensor *a = sd_view(t, 2, v2);
  ck_assert_ptr_nonnull(a);
  ck_assert(sd_get_flat(a, 23) == 23);
  /* a narrowed dim 0 keeps a view of dims 1,2 merged */
  sd_tensor *n = sd_narrow(t, 0, 1, 1);
  int64_t v1[1] = {12};
  sd_tensor *b = sd_view(n, 1, v1);
  ck_assert_ptr_nonnull(b);
  ck_assert(sd_get_flat(b, 0) == 12);
  sd_release(b); sd_release(n); sd_release(a); sd_release(t);
}
END_TEST

START_TEST(expand_and_copy_broadcast) {
  int64_t sh[2] = {1, 3}, big[2] = {4, 3};
  sd_tensor *row = unit_iota(SD_I32, 2, sh);
  sd_tensor *dst = sd_zeros(SD_F64, 2, big);
  ck_assert_int_eq(sd_copy_(dst, row), SD_OK);
  for (int i = 0; i < 12; i++) ck_assert(sd_get_flat(dst, i) == i % 3);
  sd_tensor *e = sd_expand(row, 2, big);
  ck_assert_int_eq(e->stride[0], 0);
  int64_t bad[2] = {4, 2};
  ck_assert_ptr_null(sd_expand(row, 2, bad));
  sd_tensor *w = sd_zeros(SD_F32, 2, bad);
  ck_assert_int_ne(sd_copy_(dst, w), SD_OK);
  sd_release(w);
  sd_release(e); sd_release(dst); sd_release(row);
}
END_TEST

START_TEST(copy_overlapping) {
  int64_t sh[1] = {6};
  sd_tensor *t = unit_iota(SD_F32, 1, sh);
  sd_tensor *a = sd_narrow(t, 0, 0, 5), *b = sd_narrow(t, 0, 1, 5);
  ck_assert_int_eq(sd_copy_(b, a), SD_OK); /* shift right by one */
  float want[6] = {0, 0, 1, 2, 3, 4};
  for (int i = 0; i < 6; i++) ck_assert(((float *)sd_data(t))[i] == want[i]);
  sd_release(a); sd_release(b); sd_release(t);
}
END_TEST

START_TEST(large_parallel_copy) {
  int64_t sh[2] = {3, 100003};
  sd_tensor *t = unit_iota(SD_F32, 2, sh);
  sd_tensor *tt = sd_transpose(t, 0, 1);
  sd_tensor *c = sd_contiguous(tt);
  for (int64_t i = 0; i < 100003; i += 997)
    for (int j = 0; j < 3; j++)
      ck_assert(((float *)sd_data(c))[i * 3 + j] == (float)(j * 100003 + i));
  sd_release(c); sd_release(tt); sd_release(t);
}
END_TEST

START_TEST(conversions) {
  int64_t sh[1] = {4};
  sd_tensor *t = sd_empty(SD_F64, 1, sh);
  double v[4] = {-1.5, 2.7, 1e30, NAN};
  memcpy(sd_data(t), v, sizeof v);
  sd_tensor *i = sd_to_dtype(t, SD_I32);
  ck_assert_int_eq(((int32_t *)sd_data(i))[0], -1);
  ck_assert_int_eq(((int32_t *)sd_data(i))[1], 2);
  ck_assert_int_eq(((int32_t *)sd_data(i))[2], 0); /* out of range: 0, not UB */
  ck_assert_int_eq(((int32_t *)sd_data(i))[3], 0);
  sd_tensor *b = sd_to_dtype(t, SD_BOOL);
  ck_assert_int_eq(((uint8_t *)sd_data(b))[0], 1);
  sd_release(b); sd_release(i); sd_release(t);
}
END_TEST

START_TEST(unfold_and_squeeze) {
  int64_t sh[1] = {7};
  sd_tensor *t = unit_iota(SD_F32, 1, sh);
  sd_tensor *u = sd_unfold(t, 0, 3, 2);
  ck_assert_int_eq(u->shape[0], 3);
  ck_assert_int_eq(u->shape[1], 3);
  ck_assert(sd_get_flat(u, 3) == 2 && sd_get_flat(u, 8) == 6);
  sd_tensor *q = sd_unsqueeze(t, 0);
  ck_assert_int_eq(q->ndim, 2);
  sd_tensor *s = sd_squeeze(q, -1);
  ck_assert_int_eq(s->ndim, 1);
  sd_release(s); sd_release(q); sd_release(u); sd_release(t);
}
END_TEST

int main(void) {
  Suite *s = suite_create("tensor");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, empty_and_zeros);
  tcase_add_test(tc, rejects_bad_shapes);
  tcase_add_test(tc, views_share_storage);
  tcase_add_test(tc, view_merges_and_splits);
  tcase_add_test(tc, expand_and_copy_broadcast);
  tcase_add_test(tc, copy_overlapping);
  tcase_add_test(tc, large_parallel_copy);
  tcase_add_test(tc, conversions);
  tcase_add_test(tc, unfold_and_squeeze);
  suite_add_tcase(s, tc);
  return unit_run(s);
}
