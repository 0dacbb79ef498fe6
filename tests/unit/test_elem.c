/* test_elem.c: elementwise ops (ops_elem.c) against naive f64 loops, on
   contiguous, transposed, broadcast (stride 0), 0-d, size-1 and empty
   operands; dtypes, in-place rules, errors, and sd_expf's accuracy. */
#include "unit.h"
#include "ops.h"
#include "ops_simd.h"
#include <string.h>

/* A tensor of shape with values v(i) = a deterministic spread in [-4, 4]. */
static sd_tensor *spread(sd_dtype dt, int nd, const int64_t *shape, int salt) {
  sd_tensor *t = sd_empty(dt, nd, shape);
  ck_assert_ptr_nonnull(t);
  int64_t n = sd_numel(t);
  for (int64_t i = 0; i < n; i++) {
    double v = sd_dtype_is_float(dt) ? ((i * 37 + salt * 11) % 81) / 10.0 - 4.05
                                     : (double)((i * 7 + salt * 3) % 19 - 9);
    sd_set_ptr(dt, (char *)sd_data(t) + i * (int64_t)sd_dtype_size(dt), v);
  }
  return t;
}

/* The value of t at the logical flat position of an output of shape out,
   following broadcasting rules (t's dims align right, size 1 repeats). */
static double bget(const sd_tensor *t, int nd, const int64_t *out, int64_t flat) {
  int64_t off = 0;
  for (int d = nd - 1; d >= 0; d--) {
    int64_t i = flat % out[d];
    flat /= out[d];
    int td = d - (nd - t->ndim);
    if (td >= 0 && t->shape[td] != 1) off += i * t->stride[td];
  }
  return sd_get_ptr(t->dtype, (char *)t->storage->data + (t->offset + off) * (int64_t)sd_dtype_size(t->dtype));
}

static double ref_binary(sd_binop op, double x, double y) {
  switch (op) {
  case SD_ADD: return x + y;
  case SD_SUB: return x - y;
  case SD_MUL: return x * y;
  case SD_DIV: return x / y;
  case SD_POW: return pow(x, y);
  case SD_FMOD: return fmod(x, y);
  case SD_REMAINDER: return x - floor(x / y) * y;
  case SD_MAXIMUM: return isnan(x) || isnan(y) ? NAN : fmax(x, y);
  case SD_MINIMUM: return isnan(x) || isnan(y) ? NAN : fmin(x, y);
  case SD_ATAN2: return atan2(x, y);
  case SD_EQ: return x == y;
  case SD_NE: return x != y;
  case SD_LT: return x < y;
  case SD_LE: return x <= y;
  case SD_GT: return x > y;
  case SD_GE: return x >= y;
  case SD_LOGICAL_AND: return x != 0 && y != 0;
  case SD_LOGICAL_OR: return x != 0 || y != 0;
  default: return NAN;
  }
}

static void near(double got, double want, double tol, const char *what) {
  if (isnan(want)) { ck_assert_msg(isnan(got), "%s: got %g, want NaN", what, got); return; }
  if (isinf(want)) { ck_assert_msg(got == want, "%s: got %g, want %g", what, got, want); return; }
  ck_assert_msg(fabs(got - want) <= tol * (1 + fabs(want)), "%s: got %.9g, want %.9g", what, got, want);
}

/* r = op(a, b) checked elementwise against ref_binary in f64. */
static void check_binary(sd_binop op, const sd_tensor *a, const sd_tensor *b, double tol) {
  sd_tensor *r = sd_binary(op, a, b);
  ck_assert_msg(r != NULL, "%s: %s", sd_binop_names[op], sd_errmsg());
  int nd;
  int64_t shape[SD_MAXDIM];
  ck_assert_int_eq(sd_broadcast_shape(a->ndim, a->shape, b->ndim, b->shape, &nd, shape), SD_OK);
  ck_assert_int_eq(r->ndim, nd);
  for (int d = 0; d < nd; d++) ck_assert_int_eq(r->shape[d], shape[d]);
  ck_assert_int_eq(r->dtype, sd_binary_dtype(op, a->dtype, b->dtype));
  int64_t n = sd_numel(r);
  for (int64_t i = 0; i < n; i++) {
    double x = bget(a, nd, shape, i), y = bget(b, nd, shape, i);
    if ((op == SD_FMOD || op == SD_REMAINDER) && y == 0) continue;
    near(sd_get_flat(r, i), ref_binary(op, x, y), tol, sd_binop_names[op]);
  }
  sd_release(r);
}

static const sd_binop float_ops[] = {SD_ADD, SD_SUB, SD_MUL, SD_DIV, SD_POW, SD_FMOD,
                                     SD_REMAINDER, SD_MAXIMUM, SD_MINIMUM, SD_ATAN2, SD_EQ,
                                     SD_NE, SD_LT, SD_LE, SD_GT, SD_GE, SD_LOGICAL_AND,
                                     SD_LOGICAL_OR};

START_TEST(binary_layouts) {
  sd_dtype dts[2] = {SD_F32, SD_F64};
  for (int k = 0; k < 2; k++) {
    sd_dtype dt = dts[k];
    double tol = dt == SD_F32 ? 2e-6 : 1e-13;
    int64_t s34[2] = {3, 4}, s43[2] = {4, 3}, s31[2] = {3, 1}, s4[1] = {4}, s0[2] = {0, 4},
            s1[1] = {1}, big[2] = {70, 1000};
    sd_tensor *a = spread(dt, 2, s34, 1), *b = spread(dt, 2, s34, 2);
    sd_tensor *bt0 = spread(dt, 2, s43, 3), *bt = sd_transpose(bt0, 0, 1); /* non-contiguous */
    sd_tensor *col = spread(dt, 2, s31, 4), *row = spread(dt, 1, s4, 5);
    sd_tensor *s = sd_scalar(dt, 1.5), *e = spread(dt, 2, s0, 6), *one = spread(dt, 1, s1, 7);
    sd_tensor *exp = sd_expand(row, 2, s34); /* stride 0 */
    sd_tensor *ba = spread(dt, 2, big, 8), *bb = spread(dt, 2, big, 9); /* threaded */
    for (size_t i = 0; i < sizeof float_ops / sizeof *float_ops; i++) {
      sd_binop op = float_ops[i];
      double t = op == SD_POW ? tol * 10 : tol;
      check_binary(op, a, b, t);
      check_binary(op, a, bt, t);
      check_binary(op, bt, a, t);
      check_binary(op, col, row, t);
      check_binary(op, a, s, t);
      check_binary(op, s, a, t);
      check_binary(op, s, s, t);
      check_binary(op, e, row, t);
      check_binary(op, one, a, t);
      check_binary(op, exp, bt, t);
      check_binary(op, ba, bb, t);
    }
    sd_release(a); sd_release(b); sd_release(bt0); sd_release(bt); sd_release(col);
    sd_release(row); sd_release(s); sd_release(e); sd_release(one); sd_release(exp);
    sd_release(ba); sd_release(bb);
  }
}
END_TEST

START_TEST(integer_ops) {
  int64_t s5[1] = {5};
  sd_dtype dts[2] = {SD_I64, SD_I32};
  for (int k = 0; k < 2; k++) {
    sd_tensor *a = spread(dts[k], 1, s5, 1), *b = spread(dts[k], 1, s5, 2);
    sd_binop ops[] = {SD_ADD, SD_SUB, SD_MUL, SD_FMOD, SD_REMAINDER, SD_MAXIMUM, SD_MINIMUM,
                      SD_LT, SD_EQ};
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) check_binary(ops[i], a, b, 0);
    sd_tensor *r = sd_binary(SD_ADD, a, b);
    ck_assert_int_eq(r->dtype, dts[k]);
    sd_release(r);
    r = sd_binary(SD_DIV, a, b); /* true division gives f32 */
    ck_assert_int_eq(r->dtype, SD_F32);
    sd_release(r);
    sd_release(a); sd_release(b);
  }
  /* signs of fmod and remainder, as C and as Python */
  int64_t two[1] = {2};
  sd_tensor *x = sd_empty(SD_I64, 1, two), *y = sd_scalar(SD_I64, 3);
  ((int64_t *)sd_data(x))[0] = 5; ((int64_t *)sd_data(x))[1] = -5;
  sd_tensor *f = sd_binary(SD_FMOD, x, y), *m = sd_binary(SD_REMAINDER, x, y);
  ck_assert_int_eq(((int64_t *)sd_data(f))[1], -2);
  ck_assert_int_eq(((int64_t *)sd_data(m))[1], 1);
  /* wrapping, no UB */
  sd_tensor *big = sd_scalar(SD_I64, 0), *p = sd_scalar(SD_I64, 2), *e = sd_scalar(SD_I64, 10);
  *(int64_t *)sd_data(big) = INT64_MAX;
  sd_tensor *one = sd_scalar(SD_I64, 1), *w = sd_binary(SD_ADD, big, one);
  ck_assert(*(int64_t *)sd_data(w) == INT64_MIN);
  sd_tensor *pw = sd_binary(SD_POW, p, e);
  ck_assert_int_eq(*(int64_t *)sd_data(pw), 1024);
  /* integer division by zero is an error, not a crash */
  sd_tensor *z = sd_scalar(SD_I64, 0);
  ck_assert_ptr_null(sd_binary(SD_FMOD, x, z));
  ck_assert(strstr(sd_errmsg(), "division by zero") != NULL);
  sd_release(x); sd_release(y); sd_release(f); sd_release(m); sd_release(big); sd_release(p);
  sd_release(e); sd_release(pw); sd_release(z); sd_release(one); sd_release(w);
}
END_TEST

START_TEST(promotion) {
  int64_t s3[1] = {3};
  sd_tensor *i = spread(SD_I64, 1, s3, 1), *f = spread(SD_F32, 1, s3, 2), *d = spread(SD_F64, 1, s3, 3);
  sd_tensor *b = spread(SD_BOOL, 1, s3, 4), *u = spread(SD_U8, 1, s3, 5);
  ck_assert_int_eq(sd_binary_dtype(SD_ADD, SD_I64, SD_F32), SD_F32);
  ck_assert_int_eq(sd_binary_dtype(SD_ADD, SD_F32, SD_F64), SD_F64);
  ck_assert_int_eq(sd_binary_dtype(SD_DIV, SD_I32, SD_I32), SD_F32);
  ck_assert_int_eq(sd_binary_dtype(SD_LT, SD_F64, SD_I32), SD_BOOL);
  check_binary(SD_ADD, i, f, 1e-6);
  check_binary(SD_MUL, f, d, 1e-12);
  check_binary(SD_ADD, u, i, 0);
  sd_tensor *bb = sd_binary(SD_ADD, b, b); /* bool + bool stays bool */
  ck_assert_int_eq(bb->dtype, SD_BOOL);
  for (int k = 0; k < 3; k++) ck_assert(sd_get_flat(bb, k) == (sd_get_flat(b, k) != 0));
  sd_tensor *ten = sd_scalar(SD_U8, 10), *uu = sd_binary(SD_SUB, u, ten); /* u8 wraps */
  ck_assert_int_eq(uu->dtype, SD_U8);
  ck_assert(sd_get_flat(uu, 0) == (double)(uint8_t)(sd_get_flat(u, 0) - 10));
  sd_release(i); sd_release(f); sd_release(d); sd_release(b); sd_release(u); sd_release(bb);
  sd_release(uu); sd_release(ten);
}
END_TEST

static double ref_unary(sd_unop op, double x) {
  switch (op) {
  case SD_NEG: return -x;
  case SD_ABS: return fabs(x);
  case SD_SIGN: return (x > 0) - (x < 0);
  case SD_EXP: return exp(x);
  case SD_LOG: return log(x);
  case SD_LOG1P: return log1p(x);
  case SD_EXPM1: return expm1(x);
  case SD_SQRT: return sqrt(x);
  case SD_RSQRT: return 1 / sqrt(x);
  case SD_SIN: return sin(x);
  case SD_COS: return cos(x);
  case SD_TANH: return tanh(x);
  case SD_SIGMOID: return 1 / (1 + exp(-x));
  case SD_RELU: return x < 0 ? 0 : x; /* NaN stays, as PyTorch */
  case SD_GELU: return 0.5 * x * (1 + erf(x / sqrt(2.0)));
  case SD_SOFTPLUS: return x > 20 ? x : log1p(exp(x));
  case SD_FLOOR: return floor(x);
  case SD_CEIL: return ceil(x);
  case SD_ROUND: return nearbyint(x);
  case SD_RECIPROCAL: return 1 / x;
  case SD_SQUARE: return x * x;
  case SD_ISNAN: return isnan(x);
  case SD_ISINF: return isinf(x) != 0;
  case SD_LOGICAL_NOT: return x == 0;
  default: return NAN;
  }
}

static void check_unary(sd_unop op, const sd_tensor *x, double tol) {
  sd_tensor *r = sd_unary(op, x);
  ck_assert_msg(r != NULL, "%s: %s", sd_unop_names[op], sd_errmsg());
  ck_assert_int_eq(r->dtype, sd_unary_dtype(op, x->dtype));
  ck_assert(sd_same_shape(r, x));
  int64_t n = sd_numel(x);
  for (int64_t i = 0; i < n; i++) near(sd_get_flat(r, i), ref_unary(op, sd_get_flat(x, i)), tol, sd_unop_names[op]);
  sd_release(r);
}

START_TEST(unary_all) {
  int64_t s[2] = {9, 40}, s0[2] = {0, 3}, big[1] = {100000};
  double special[] = {0.5, 1.5, 2.5, -0.5, -2.5, 0, -0.0, 30, -30, 88, -100, NAN, INFINITY, -INFINITY};
  sd_dtype dts[2] = {SD_F32, SD_F64};
  for (int k = 0; k < 2; k++) {
    sd_dtype dt = dts[k];
    double tol = dt == SD_F32 ? 3e-6 : 1e-13;
    sd_tensor *x0 = spread(dt, 2, s, 1), *xt = sd_transpose(x0, 0, 1), *sc = sd_scalar(dt, 0.75);
    sd_tensor *e = sd_empty(dt, 2, s0), *sp = sd_empty(dt, 1, (int64_t[]){14});
    sd_tensor *xb = spread(dt, 1, big, 2);
    for (int i = 0; i < 14; i++) sd_set_ptr(dt, (char *)sd_data(sp) + i * (int64_t)sd_dtype_size(dt), special[i]);
    for (int op = 0; op < SD_NUNOP; op++) {
      check_unary(op, x0, tol);
      check_unary(op, xt, tol);
      check_unary(op, sc, tol);
      check_unary(op, e, tol);
      check_unary(op, xb, tol);
      if (op != SD_GELU && op != SD_SIN && op != SD_COS) check_unary(op, sp, tol);
    }
    sd_release(x0); sd_release(xt); sd_release(sc); sd_release(e); sd_release(sp); sd_release(xb);
  }
  /* integers: float ops give f32, others keep the dtype */
  int64_t s5[1] = {5};
  sd_tensor *i = spread(SD_I64, 1, s5, 1);
  check_unary(SD_EXP, i, 3e-6);
  check_unary(SD_NEG, i, 0);
  check_unary(SD_ABS, i, 0);
  check_unary(SD_RELU, i, 0);
  check_unary(SD_ISNAN, i, 0);
  sd_tensor *b = sd_scalar(SD_BOOL, 1);
  ck_assert_ptr_null(sd_unary(SD_NEG, b));
  sd_release(i); sd_release(b);
}
END_TEST

/* The spacing of floats at w (finite). */
static double ulp_of(float w) {
  w = fabsf(w);
  if (w < 1.17549435e-38f) return ldexp(1, -149);
  int e;
  frexpf(w, &e);
  return ldexp(1, e - 24);
}

START_TEST(expf_accuracy) {
  /* within 1 ulp of exp in f64 over every 1021st f32 bit pattern (all signs,
     exponents, NaNs), 0 and inf exactly where exp rounds there, and the
     dispatched vector kernel of sd_unary bit for bit equal to the scalar
     (an exhaustive sweep of all 2^32 inputs gave 0.992 ulp at most) */
  const int64_t n = 1 << 20;
  sd_tensor *t = sd_empty(SD_F32, 1, &n);
  uint32_t *in = sd_data(t);
  double worst = 0;
  int64_t wrong = 0;
  for (uint64_t start = 0; start < (1ull << 32); start += 1021ull * (uint64_t)n) {
    int64_t m = 0;
    for (uint64_t b = start; b < (1ull << 32) && m < n; b += 1021) in[m++] = (uint32_t)b;
    sd_tensor *v = sd_narrow(t, 0, 0, m), *r = sd_unary(SD_EXP, v);
    for (int64_t i = 0; i < m; i++) {
      float x;
      memcpy(&x, &in[i], 4);
      float got = sd_expf(x);
      if (memcmp(&got, (const float *)sd_data(r) + i, 4) != 0) wrong++;
      if (isnan(x)) { if (!isnan(got)) wrong++; continue; }
      double want = exp((double)x);
      float wf = (float)want;
      if (isinf(wf) || wf == 0) { if (got != wf) wrong++; continue; }
      double err = fabs((double)got - want) / ulp_of(wf);
      if (err > worst) worst = err;
    }
    sd_release(r); sd_release(v);
  }
  sd_release(t);
  ck_assert_msg(worst <= 1.0 && wrong == 0, "sd_expf: %.3f ulp, %lld wrong", worst, (long long)wrong);
  ck_assert(isinf(sd_expf(88.73f)) && isinf(sd_expf(INFINITY)) && isinf(sd_expf(1e30f)));
  ck_assert(sd_expf(-104.0f) == 0 && sd_expf(-INFINITY) == 0 && sd_expf(-1e30f) == 0);
  ck_assert(isnan(sd_expf(NAN)));
  ck_assert(sd_expf(0) == 1.0f && sd_expf(-0.0f) == 1.0f);
  ck_assert(sd_expf(88.72f) > 3.3e38f && !isinf(sd_expf(88.72f)));
  ck_assert(sd_expf(-103.9f) > 0 && sd_expf(-103.9f) < 1.2e-38f); /* a subnormal result */
}
END_TEST

START_TEST(in_place) {
  int64_t s34[2] = {3, 4}, s4[1] = {4}, s5[1] = {5}, s33[2] = {3, 3};
  sd_tensor *a = spread(SD_F32, 2, s34, 1), *ref = sd_clone(a), *row = spread(SD_F32, 1, s4, 2);
  uint32_t v = a->storage->version;
  ck_assert_int_eq(sd_binary_(SD_ADD, a, row), SD_OK);
  ck_assert(a->storage->version != v);
  for (int64_t i = 0; i < 12; i++) near(sd_get_flat(a, i), sd_get_flat(ref, i) + sd_get_flat(row, i % 4), 1e-6, "add_");
  /* the result must keep self's shape */
  sd_tensor *r4 = spread(SD_F32, 1, s4, 3);
  ck_assert_int_eq(sd_binary_(SD_ADD, r4, a), SD_ESHAPE);
  ck_assert(strstr(sd_errmsg(), "add_") != NULL);
  sd_tensor *r5 = spread(SD_F32, 1, s5, 3);
  ck_assert_int_ne(sd_binary_(SD_MUL, a, r5), SD_OK);
  ck_assert(strstr(sd_errmsg(), "mul_: shapes [3,4] and [5] cannot broadcast") != NULL);
  /* no float into an integer tensor; integer into float is fine */
  sd_tensor *i = spread(SD_I64, 1, s4, 4), *half = sd_scalar(SD_F32, 0.5);
  ck_assert_int_ne(sd_binary_(SD_ADD, i, half), SD_OK);
  ck_assert_int_eq(sd_binary_(SD_ADD, row, i), SD_OK);
  ck_assert_int_ne(sd_unary_(SD_EXP, i), SD_OK);
  ck_assert_int_eq(sd_unary_(SD_NEG, i), SD_OK);
  /* overlap: m += m^T must read m's old values */
  sd_tensor *m = spread(SD_F64, 2, s33, 5), *m0 = sd_clone(m), *mt = sd_transpose(m, 0, 1);
  ck_assert_int_eq(sd_binary_(SD_ADD, m, mt), SD_OK);
  for (int r = 0; r < 3; r++)
    for (int c = 0; c < 3; c++)
      near(sd_get_flat(m, r * 3 + c), sd_get_flat(m0, r * 3 + c) + sd_get_flat(m0, c * 3 + r), 1e-15, "overlap");
  /* in-place unary on a non-contiguous view, and on bool/u8 through i64 */
  ck_assert_int_eq(sd_unary_(SD_SQUARE, mt), SD_OK);
  sd_tensor *u = spread(SD_U8, 1, s4, 6), *u0 = sd_clone(u);
  ck_assert_int_eq(sd_clamp_(u, 3, 7), SD_OK);
  for (int k = 0; k < 4; k++) near(sd_get_flat(u, k), fmin(fmax(sd_get_flat(u0, k), 3), 7), 0, "clamp_ u8");
  sd_release(a); sd_release(ref); sd_release(row); sd_release(r4); sd_release(r5); sd_release(i);
  sd_release(half); sd_release(m); sd_release(m0); sd_release(mt); sd_release(u); sd_release(u0);
}
END_TEST

START_TEST(where_clamp_errors) {
  int64_t s34[2] = {3, 4}, s31[2] = {3, 1}, s4[1] = {4}, s5[1] = {5};
  sd_tensor *x = spread(SD_F32, 2, s34, 1), *y = spread(SD_F64, 1, s4, 2);
  sd_tensor *c = spread(SD_F32, 2, s31, 3); /* nonzero counts as true */
  sd_tensor *w = sd_where(c, x, y);
  ck_assert_int_eq(w->dtype, SD_F64);
  for (int64_t i = 0; i < 12; i++)
    near(sd_get_flat(w, i), sd_get_flat(c, i / 4) != 0 ? sd_get_flat(x, i) : sd_get_flat(y, i % 4), 1e-7, "where");
  sd_tensor *z = spread(SD_F32, 1, s5, 4);
  ck_assert_ptr_null(sd_where(c, x, z));
  ck_assert(strstr(sd_errmsg(), "where: shapes [3,1], [3,4] and [5] cannot broadcast") != NULL);
  ck_assert_ptr_null(sd_binary(SD_ADD, x, z));
  ck_assert_str_eq(sd_errmsg(), "add: shapes [3,4] and [5] cannot broadcast");
  /* clamp: bounds, one-sided, NaN stays, lo > hi gives hi */
  sd_tensor *s = sd_empty(SD_F32, 1, s4);
  float v[4] = {-3, 0.5f, NAN, 9};
  memcpy(sd_data(s), v, sizeof v);
  sd_tensor *k = sd_clamp(s, 0, 1), *k1 = sd_clamp(s, -INFINITY, 0), *k2 = sd_clamp(s, 2, 1);
  ck_assert(sd_get_flat(k, 0) == 0 && sd_get_flat(k, 1) == 0.5 && isnan(sd_get_flat(k, 2)) && sd_get_flat(k, 3) == 1);
  ck_assert(sd_get_flat(k1, 0) == -3 && sd_get_flat(k1, 3) == 0);
  ck_assert(sd_get_flat(k2, 0) == 1 && sd_get_flat(k2, 3) == 1);
  sd_tensor *i0 = sd_scalar(SD_I64, 0), *ki = sd_clamp(i0, 0.5, 9.5); /* bounds round inwards */
  ck_assert(sd_get_flat(ki, 0) == 1);
  sd_release(x); sd_release(y); sd_release(c); sd_release(w); sd_release(z); sd_release(s);
  sd_release(k); sd_release(k1); sd_release(k2); sd_release(ki); sd_release(i0);
}
END_TEST

START_TEST(names_cover_enums) {
  for (int i = 0; i < SD_NBINOP; i++) ck_assert_ptr_nonnull(sd_binop_names[i]);
  for (int i = 0; i < SD_NUNOP; i++) ck_assert_ptr_nonnull(sd_unop_names[i]);
  ck_assert_str_eq(sd_binop_names[SD_LOGICAL_OR], "logical_or");
  ck_assert_str_eq(sd_unop_names[SD_LOGICAL_NOT], "logical_not");
}
END_TEST

int main(void) {
  Suite *s = suite_create("elem");
  TCase *tc = tcase_create("elem");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, binary_layouts);
  tcase_add_test(tc, integer_ops);
  tcase_add_test(tc, promotion);
  tcase_add_test(tc, unary_all);
  tcase_add_test(tc, expf_accuracy);
  tcase_add_test(tc, in_place);
  tcase_add_test(tc, where_clamp_errors);
  tcase_add_test(tc, names_cover_enums);
  suite_add_tcase(s, tc);
  return unit_run(s);
}
