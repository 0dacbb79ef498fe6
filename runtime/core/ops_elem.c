/* ops_elem.c: elementwise ops: unary, binary with broadcasting, where and
   clamp. Operands are converted to the compute dtype and broadcast (stride
   0), then sd_foreach hands runs to a kernel. The switch on dtype and op
   happens once per run; each op has its own loop per layout (contiguous,
   one side a broadcast scalar, strided), so the common cases vectorize. */
#include "ops.h"
#include "ops_simd.h"
#include <tgmath.h> /* sqrt(x) etc. stay in float for float x */
#include <stdio.h>

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

const char *const sd_binop_names[] = {
  "add", "sub", "mul", "div", "pow", "fmod", "remainder", "maximum", "minimum", "atan2",
  "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or"};
_Static_assert(LEN(sd_binop_names) == SD_NBINOP, "a name for every binop");

const char *const sd_unop_names[] = {
  "neg", "abs", "sign", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tanh",
  "sigmoid", "relu", "gelu", "softplus", "floor", "ceil", "round", "reciprocal", "square",
  "isnan", "isinf", "logical_not"};
_Static_assert(LEN(sd_unop_names) == SD_NUNOP, "a name for every unop");

/* --- dtypes --- */

/* Kernels compute in f32, f64, i32 or i64. */
static sd_dtype compute_dtype(sd_dtype dt) { return dt == SD_U8 || dt == SD_BOOL ? SD_I64 : dt; }

static bool to_bool(sd_binop op) { return op >= SD_EQ; }

sd_dtype sd_binary_dtype(sd_binop op, sd_dtype a, sd_dtype b) {
  if (to_bool(op)) return SD_BOOL;
  sd_dtype dt = sd_dtype_promote(a, b);
  if ((op == SD_DIV || op == SD_ATAN2) && !sd_dtype_is_float(dt)) return SD_F32;
  return dt;
}

static sd_dtype binary_compute(sd_binop op, sd_dtype a, sd_dtype b) {
  sd_dtype dt = sd_dtype_promote(a, b);
  if ((op == SD_DIV || op == SD_ATAN2) && !sd_dtype_is_float(dt)) return SD_F32;
  return compute_dtype(dt);
}

static bool float_only(sd_unop op) {
  switch (op) {
  case SD_EXP: case SD_LOG: case SD_LOG1P: case SD_EXPM1: case SD_SQRT: case SD_RSQRT:
  case SD_SIN: case SD_COS: case SD_TANH: case SD_SIGMOID: case SD_GELU: case SD_SOFTPLUS:
  case SD_RECIPROCAL:
    return true;
  default:
    return false;
  }
}

static bool unop_to_bool(sd_unop op) { return op >= SD_ISNAN; }

sd_dtype sd_unary_dtype(sd_unop op, sd_dtype x) {
  if (unop_to_bool(op)) return SD_BOOL;
  if (float_only(op) && !sd_dtype_is_float(x)) return SD_F32;
  return x;
}

static sd_dtype unary_compute(sd_unop op, sd_dtype x) {
  if (float_only(op) && !sd_dtype_is_float(x)) return SD_F32;
  return compute_dtype(x);
}

/* --- kernels --- */

typedef struct { int op; sd_dtype dt; int zerodiv; double lo, hi; } kctx;

/* Contiguous runs are computed in tiles into a local buffer, then copied
   out: the compiler then knows the output aliases no input and vectorizes
   without run-time overlap checks (which in-place ops would fail). */
#define TILE 512

/* One binary op over a run: x and y name the operands in expr. */
#define BIN_LOOP(T, OT, expr)                                                         \
  do {                                                                                \
    OT *o_ = (OT *)p[0];                                                              \
    const T *a_ = (const T *)p[1], *b_ = (const T *)p[2];                             \
    int64_t so = bs[0] / (int64_t)sizeof(OT), sa = bs[1] / (int64_t)sizeof(T);        \
    int64_t sb = bs[2] / (int64_t)sizeof(T);                                          \
    if (so == 1 && sa <= 1 && sb <= 1) {                                              \
      for (int64_t i0 = 0; i0 < n; i0 += TILE) {                                      \
        int64_t m = n - i0 < TILE ? n - i0 : TILE;                                    \
        OT buf[TILE];                                                                 \
        if (sa == 1 && sb == 1)                                                       \
          for (int64_t i = 0; i < m; i++) {                                           \
            T x = a_[i0 + i], y = b_[i0 + i];                                         \
            buf[i] = (OT)(expr);                                                      \
          }                                                                           \
        else if (sa == 1) {                                                           \
          T y = b_[0];                                                                \
          for (int64_t i = 0; i < m; i++) { T x = a_[i0 + i]; buf[i] = (OT)(expr); }  \
        } else if (sb == 1) {                                                         \
          T x = a_[0];                                                                \
          for (int64_t i = 0; i < m; i++) { T y = b_[i0 + i]; buf[i] = (OT)(expr); }  \
        } else {                                                                      \
          T x = a_[0], y = b_[0];                                                     \
          for (int64_t i = 0; i < m; i++) buf[i] = (OT)(expr);                        \
        }                                                                             \
        memcpy(o_ + i0, buf, (size_t)m * sizeof(OT));                                 \
      }                                                                               \
    } else {                                                                          \
      for (int64_t i = 0; i < n; i++) {                                               \
        T x = a_[i * sa], y = b_[i * sb];                                             \
        o_[i * so] = (OT)(expr);                                                      \
      }                                                                               \
    }                                                                                 \
  } while (0)

#define CMP_CASES(T)                                                 \
  case SD_EQ: BIN_LOOP(T, uint8_t, x == y); break;                   \
  case SD_NE: BIN_LOOP(T, uint8_t, x != y); break;                   \
  case SD_LT: BIN_LOOP(T, uint8_t, x < y); break;                    \
  case SD_LE: BIN_LOOP(T, uint8_t, x <= y); break;                   \
  case SD_GT: BIN_LOOP(T, uint8_t, x > y); break;                    \
  case SD_GE: BIN_LOOP(T, uint8_t, x >= y); break;                   \
  case SD_LOGICAL_AND: BIN_LOOP(T, uint8_t, (x != 0) & (y != 0)); break; \
  case SD_LOGICAL_OR: BIN_LOOP(T, uint8_t, (x != 0) | (y != 0)); break;

/* remainder takes the divisor's sign (Python's %); maximum and minimum
   propagate NaN, as PyTorch. */
#define FLOAT_BINARY(T)                                                               \
  switch (c->op) {                                                                    \
  case SD_ADD: BIN_LOOP(T, T, x + y); break;                                          \
  case SD_SUB: BIN_LOOP(T, T, x - y); break;                                          \
  case SD_MUL: BIN_LOOP(T, T, x * y); break;                                          \
  case SD_DIV: BIN_LOOP(T, T, x / y); break;                                          \
  case SD_POW: BIN_LOOP(T, T, pow(x, y)); break;                                      \
  case SD_FMOD: BIN_LOOP(T, T, fmod(x, y)); break;                                    \
  case SD_REMAINDER:                                                                  \
    BIN_LOOP(T, T, ({ T r = fmod(x, y); r != 0 && (r < 0) != (y < 0) ? r + y : r; })); \
    break;                                                                            \
  case SD_MAXIMUM: BIN_LOOP(T, T, x != x ? x : y != y ? y : x > y ? x : y); break;    \
  case SD_MINIMUM: BIN_LOOP(T, T, x != x ? x : y != y ? y : x < y ? x : y); break;    \
  case SD_ATAN2: BIN_LOOP(T, T, atan2(x, y)); break;                                  \
  CMP_CASES(T)                                                                        \
  }

/* Integers wrap (computed unsigned); fmod and remainder by zero are
   reported, and x % -1 is 0 (INT_MIN % -1 would trap). */
#define INT_BINARY(T, UT)                                                             \
  switch (c->op) {                                                                    \
  case SD_ADD: BIN_LOOP(T, T, (UT)x + (UT)y); break;                                  \
  case SD_SUB: BIN_LOOP(T, T, (UT)x - (UT)y); break;                                  \
  case SD_MUL: BIN_LOOP(T, T, (UT)x * (UT)y); break;                                  \
  case SD_POW: BIN_LOOP(T, T, ipow(x, y)); break;                                     \
  case SD_FMOD: BIN_LOOP(T, T, y == 0 ? (zero = 1, 0) : y == -1 ? 0 : x % y); break;  \
  case SD_REMAINDER:                                                                  \
    BIN_LOOP(T, T, ({                                                                 \
      T r = y == 0 ? (zero = 1, 0) : y == -1 ? 0 : x % y;                             \
      r != 0 && (r < 0) != (y < 0) ? r + y : r;                                       \
    }));                                                                              \
    break;                                                                            \
  case SD_MAXIMUM: BIN_LOOP(T, T, x > y ? x : y); break;                              \
  case SD_MINIMUM: BIN_LOOP(T, T, x < y ? x : y); break;                              \
  CMP_CASES(T)                                                                        \
  default: break; /* div and atan2 compute in f32 */                                 \
  }

/* x^y by squaring, wrapping; negative powers of integers other than ±1 are 0. */
static int64_t ipow(int64_t x, int64_t y) {
  if (y < 0) return x == 1 ? 1 : x == -1 ? (y & 1 ? -1 : 1) : 0;
  uint64_t r = 1, b = (uint64_t)x;
  for (; y; y >>= 1, b *= b)
    if (y & 1) r *= b;
  return (int64_t)r;
}

SD_KERNEL static void binary_run(char **p, const int64_t *bs, int64_t n, void *vc) {
  kctx *c = vc;
  int zero = 0;
  switch (c->dt) {
  case SD_F32: FLOAT_BINARY(float); break;
  case SD_F64: FLOAT_BINARY(double); break;
  case SD_I32: INT_BINARY(int32_t, uint32_t); break;
  default: INT_BINARY(int64_t, uint64_t); break;
  }
  if (zero) __atomic_store_n(&c->zerodiv, 1, __ATOMIC_RELAXED);
}

#define UN_LOOP(T, OT, expr)                                                   \
  do {                                                                         \
    OT *o_ = (OT *)p[0];                                                       \
    const T *a_ = (const T *)p[1];                                             \
    int64_t so = bs[0] / (int64_t)sizeof(OT), sa = bs[1] / (int64_t)sizeof(T); \
    if (so == 1 && sa == 1) {                                                  \
      for (int64_t i0 = 0; i0 < n; i0 += TILE) {                               \
        int64_t m = n - i0 < TILE ? n - i0 : TILE;                             \
        OT buf[TILE];                                                          \
        for (int64_t i = 0; i < m; i++) { T x = a_[i0 + i]; buf[i] = (OT)(expr); } \
        memcpy(o_ + i0, buf, (size_t)m * sizeof(OT));                          \
      }                                                                        \
    } else {                                                                   \
      for (int64_t i = 0; i < n; i++) { T x = a_[i * sa]; o_[i * so] = (OT)(expr); } \
    }                                                                          \
  } while (0)

/* EXP: sd_expf for f32 (vectorizes), exp for f64. Constants are cast to T
   so f32 stays in f32. */
#define FLOAT_UNARY(T, EXP)                                                          \
  switch (c->op) {                                                                   \
  case SD_NEG: UN_LOOP(T, T, -x); break;                                             \
  case SD_ABS: UN_LOOP(T, T, fabs(x)); break;                                        \
  case SD_SIGN: UN_LOOP(T, T, (x > 0) - (x < 0)); break;                             \
  case SD_EXP: UN_LOOP(T, T, EXP(x)); break;                                         \
  case SD_LOG: UN_LOOP(T, T, log(x)); break;                                         \
  case SD_LOG1P: UN_LOOP(T, T, log1p(x)); break;                                     \
  case SD_EXPM1: UN_LOOP(T, T, expm1(x)); break;                                     \
  case SD_SQRT: UN_LOOP(T, T, sqrt(x)); break;                                       \
  case SD_RSQRT: UN_LOOP(T, T, 1 / sqrt(x)); break;                                  \
  case SD_SIN: UN_LOOP(T, T, sin(x)); break;                                         \
  case SD_COS: UN_LOOP(T, T, cos(x)); break;                                         \
  case SD_TANH: UN_LOOP(T, T, tanh(x)); break;                                       \
  case SD_SIGMOID: UN_LOOP(T, T, 1 / (1 + EXP(-x))); break;                          \
  case SD_RELU: UN_LOOP(T, T, x < 0 ? 0 : x); break;                                 \
  case SD_GELU: UN_LOOP(T, T, x * (T)0.5 * (1 + erf(x * (T)M_SQRT1_2))); break;      \
  case SD_SOFTPLUS: UN_LOOP(T, T, x > 20 ? x : log1p(EXP(x))); break;                \
  case SD_FLOOR: UN_LOOP(T, T, floor(x)); break;                                     \
  case SD_CEIL: UN_LOOP(T, T, ceil(x)); break;                                       \
  case SD_ROUND: UN_LOOP(T, T, rint(x)); break; /* half to even */                   \
  case SD_RECIPROCAL: UN_LOOP(T, T, 1 / x); break;                                   \
  case SD_SQUARE: UN_LOOP(T, T, x * x); break;                                       \
  case SD_ISNAN: UN_LOOP(T, uint8_t, x != x); break;                                 \
  case SD_ISINF: UN_LOOP(T, uint8_t, fabs(x) == (T)INFINITY); break;                 \
  case SD_LOGICAL_NOT: UN_LOOP(T, uint8_t, x == 0); break;                           \
  default: break;                                                                    \
  }

#define INT_UNARY(T, UT)                                                       \
  switch (c->op) {                                                             \
  case SD_NEG: UN_LOOP(T, T, (UT)0 - (UT)x); break;                            \
  case SD_ABS: UN_LOOP(T, T, x < 0 ? (UT)0 - (UT)x : (UT)x); break;            \
  case SD_SIGN: UN_LOOP(T, T, (x > 0) - (x < 0)); break;                       \
  case SD_RELU: UN_LOOP(T, T, x < 0 ? 0 : x); break;                           \
  case SD_FLOOR: case SD_CEIL: case SD_ROUND: UN_LOOP(T, T, x); break;         \
  case SD_SQUARE: UN_LOOP(T, T, (UT)x * (UT)x); break;                         \
  case SD_ISNAN: case SD_ISINF: UN_LOOP(T, uint8_t, 0 * x); break;             \
  case SD_LOGICAL_NOT: UN_LOOP(T, uint8_t, x == 0); break;                     \
  default: break; /* the float-only ops compute in f32 */                     \
  }

#define IDENT(x) (x)

SD_KERNEL static void unary_run(char **p, const int64_t *bs, int64_t n, void *vc) {
  const kctx *c = vc;
  switch (c->dt) {
  case SD_F32: FLOAT_UNARY(float, sd_expf); break;
  case SD_F64: FLOAT_UNARY(double, exp); break;
  case SD_I32: INT_UNARY(int32_t, uint32_t); break;
  default: INT_UNARY(int64_t, uint64_t); break;
  }
}

/* Clamp: a NaN x stays NaN (both compares are false); lo > hi gives hi. */
SD_KERNEL static void clamp_run(char **p, const int64_t *bs, int64_t n, void *vc) {
  const kctx *c = vc;
  switch (c->dt) {
  case SD_F32: {
    float lo = (float)c->lo, hi = (float)c->hi;
    UN_LOOP(float, float, ({ float v = x < lo ? lo : x; v > hi ? hi : v; }));
    break;
  }
  case SD_F64:
    UN_LOOP(double, double, ({ double v = x < c->lo ? c->lo : x; v > c->hi ? c->hi : v; }));
    break;
  case SD_I32: {
    int32_t lo = (int32_t)c->lo, hi = (int32_t)c->hi;
    UN_LOOP(int32_t, int32_t, ({ int32_t v = x < lo ? lo : x; v > hi ? hi : v; }));
    break;
  }
  default: {
    int64_t lo = (int64_t)c->lo, hi = (int64_t)c->hi;
    UN_LOOP(int64_t, int64_t, ({ int64_t v = x < lo ? lo : x; v > hi ? hi : v; }));
    break;
  }
  }
}

#define WHERE_LOOP(T)                                                                 \
  do {                                                                                \
    T *o = (T *)p[0];                                                                 \
    const uint8_t *m = (const uint8_t *)p[1];                                         \
    const T *x = (const T *)p[2], *y = (const T *)p[3];                               \
    int64_t so = bs[0] / (int64_t)sizeof(T), sm = bs[1];                              \
    int64_t sx = bs[2] / (int64_t)sizeof(T), sy = bs[3] / (int64_t)sizeof(T);         \
    if (so == 1 && sm == 1 && sx == 1 && sy == 1)                                     \
      for (int64_t i = 0; i < n; i++) o[i] = m[i] ? x[i] : y[i];                      \
    else                                                                              \
      for (int64_t i = 0; i < n; i++) o[i * so] = m[i * sm] ? x[i * sx] : y[i * sy]; \
  } while (0)

SD_KERNEL static void where_run(char **p, const int64_t *bs, int64_t n, void *vc) {
  switch (sd_dtype_size(((const kctx *)vc)->dt)) {
  case 1: WHERE_LOOP(uint8_t); break;
  case 4: WHERE_LOOP(uint32_t); break;
  default: WHERE_LOOP(uint64_t); break;
  }
}

/* --- drivers --- */

/* x converted to dt and broadcast to shape: a new reference. */
static sd_tensor *operand(const sd_tensor *x, sd_dtype dt, int nd, const int64_t *shape) {
  sd_tensor *c = sd_to_dtype(x, dt);
  if (!c) return NULL;
  sd_tensor *e = sd_expand(c, nd, shape);
  sd_release(c);
  return e;
}

static sd_status broadcast2(const char *fn, const sd_tensor *a, const sd_tensor *b, int *nd,
                            int64_t *shape) {
  if (sd_broadcast_shape(a->ndim, a->shape, b->ndim, b->shape, nd, shape) == SD_OK) return SD_OK;
  char sa[128], sb[128];
  return sd_error(SD_ESHAPE, "%s: shapes %s and %s cannot broadcast", fn,
                  sd_shape_str(a, sa, sizeof sa), sd_shape_str(b, sb, sizeof sb));
}

/* out = a op b with a and b in the compute dtype dt; out is of dt, or bool
   for comparisons. b is copied first when it overlaps out differently. */
static sd_status binary_into(sd_binop op, sd_dtype dt, sd_tensor *out, const sd_tensor *a,
                             const sd_tensor *b) {
  sd_tensor *ea = operand(a, dt, out->ndim, out->shape);
  sd_tensor *eb = ea ? operand(b, dt, out->ndim, out->shape) : NULL;
  sd_status st = eb ? SD_OK : SD_EMEM;
  if (eb && eb->storage == out->storage && (eb->offset != out->offset ||
      memcmp(eb->stride, out->stride, sizeof eb->stride) != 0)) {
    sd_tensor *c = sd_clone(eb);
    sd_release(eb);
    eb = c;
    if (!c) st = SD_EMEM;
  }
  if (st == SD_OK) {
    kctx c = {op, dt, 0, 0, 0};
    sd_tensor *ops[3] = {out, ea, eb};
    st = sd_foreach(3, ops, binary_run, &c);
    if (st == SD_OK && c.zerodiv)
      st = sd_error(SD_EARG, "%s: integer division by zero", sd_binop_names[op]);
  }
  sd_release(ea);
  sd_release(eb);
  return st;
}

sd_tensor *sd_binary(sd_binop op, const sd_tensor *a, const sd_tensor *b) {
  int nd;
  int64_t shape[SD_MAXDIM];
  if ((unsigned)op >= SD_NBINOP) { sd_error(SD_EARG, "binary: unknown op %d", (int)op); return NULL; }
  if (broadcast2(sd_binop_names[op], a, b, &nd, shape)) return NULL;
  sd_dtype dt = binary_compute(op, a->dtype, b->dtype);
  sd_dtype odt = sd_binary_dtype(op, a->dtype, b->dtype);
  bool direct = to_bool(op) || odt == dt;
  sd_tensor *out = sd_empty(odt, nd, shape);
  sd_tensor *tmp = out && !direct ? sd_empty(dt, nd, shape) : NULL;
  if (!out || (!direct && !tmp) || binary_into(op, dt, direct ? out : tmp, a, b) != SD_OK ||
      (tmp && sd_copy_(out, tmp) != SD_OK)) {
    sd_release(out);
    sd_release(tmp);
    return NULL;
  }
  sd_release(tmp);
  return out;
}

sd_status sd_binary_(sd_binop op, sd_tensor *self, const sd_tensor *b) {
  int nd;
  int64_t shape[SD_MAXDIM];
  char fn[32], s1[128], s2[128];
  if ((unsigned)op >= SD_NBINOP) return sd_error(SD_EARG, "binary_: unknown op %d", (int)op);
  snprintf(fn, sizeof fn, "%s_", sd_binop_names[op]);
  if (broadcast2(fn, self, b, &nd, shape)) return SD_ESHAPE;
  if (nd != self->ndim || memcmp(shape, self->shape, (size_t)nd * sizeof *shape) != 0)
    return sd_error(SD_ESHAPE, "%s: the result of shapes %s and %s would not fit self", fn,
                    sd_shape_str(self, s1, sizeof s1), sd_shape_str(b, s2, sizeof s2));
  sd_dtype odt = sd_binary_dtype(op, self->dtype, b->dtype);
  if (sd_dtype_is_float(odt) && !sd_dtype_is_float(self->dtype))
    return sd_error(SD_EARG, "%s: result dtype %s cannot be written into a %s tensor", fn,
                    sd_dtype_name(odt), sd_dtype_name(self->dtype));
  sd_dtype dt = binary_compute(op, self->dtype, b->dtype);
  sd_status st;
  if (dt == self->dtype && (odt == dt || (to_bool(op) && odt == self->dtype))) {
    st = binary_into(op, dt, self, self, b);
  } else {
    sd_tensor *r = sd_binary(op, self, b);
    st = r ? sd_copy_(self, r) : SD_EMEM;
    sd_release(r);
  }
  sd_bump_version(self);
  return st;
}

static sd_status unary_into(sd_unop op, sd_dtype dt, sd_tensor *out, const sd_tensor *x) {
  sd_tensor *ex = sd_to_dtype(x, dt);
  if (!ex) return SD_EMEM;
  kctx c = {op, dt, 0, 0, 0};
  sd_tensor *ops[2] = {out, ex};
  sd_status st = sd_foreach(2, ops, unary_run, &c);
  sd_release(ex);
  return st;
}

static sd_status unary_check(sd_unop op, const sd_tensor *x) {
  if ((unsigned)op >= SD_NUNOP) return sd_error(SD_EARG, "unary: unknown op %d", (int)op);
  if (op == SD_NEG && x->dtype == SD_BOOL)
    return sd_error(SD_EARG, "neg: not defined for bool tensors; use logical_not");
  return SD_OK;
}

sd_tensor *sd_unary(sd_unop op, const sd_tensor *x) {
  if (unary_check(op, x)) return NULL;
  sd_dtype dt = unary_compute(op, x->dtype), odt = sd_unary_dtype(op, x->dtype);
  bool direct = unop_to_bool(op) || odt == dt;
  sd_tensor *out = sd_empty(odt, x->ndim, x->shape);
  sd_tensor *tmp = out && !direct ? sd_empty(dt, x->ndim, x->shape) : NULL;
  if (!out || (!direct && !tmp) || unary_into(op, dt, direct ? out : tmp, x) != SD_OK ||
      (tmp && sd_copy_(out, tmp) != SD_OK)) {
    sd_release(out);
    sd_release(tmp);
    return NULL;
  }
  sd_release(tmp);
  return out;
}

sd_status sd_unary_(sd_unop op, sd_tensor *x) {
  if (unary_check(op, x)) return SD_EARG;
  sd_dtype dt = unary_compute(op, x->dtype), odt = sd_unary_dtype(op, x->dtype);
  if (odt != x->dtype)
    return sd_error(SD_EARG, "%s_: result dtype %s cannot be written into a %s tensor",
                    sd_unop_names[op], sd_dtype_name(odt), sd_dtype_name(x->dtype));
  sd_status st;
  if (dt == x->dtype) {
    st = unary_into(op, dt, x, x);
  } else {
    sd_tensor *r = sd_unary(op, x);
    st = r ? sd_copy_(x, r) : SD_EMEM;
    sd_release(r);
  }
  sd_bump_version(x);
  return st;
}

/* Integer bounds: round inwards, saturate to the range of dt. */
static double int_bound(double v, bool lower, sd_dtype dt) {
  double lim = dt == SD_I32 ? 2147483647.0 : 9223372036854774784.0;
  v = lower ? ceil(v) : floor(v);
  return v < -lim ? -lim : v > lim ? lim : v;
}

static sd_status clamp_into(sd_tensor *out, const sd_tensor *x, double lo, double hi) {
  sd_dtype dt = compute_dtype(x->dtype);
  if (!sd_dtype_is_float(dt)) { lo = int_bound(lo, true, dt); hi = int_bound(hi, false, dt); }
  bool direct = dt == out->dtype;
  sd_tensor *ex = sd_to_dtype(x, dt);
  sd_tensor *tmp = ex && !direct ? sd_empty(dt, x->ndim, x->shape) : ex ? sd_retain(out) : NULL;
  sd_status st = tmp ? SD_OK : SD_EMEM;
  if (st == SD_OK) {
    kctx c = {0, dt, 0, lo, hi};
    sd_tensor *ops[2] = {tmp, ex};
    st = sd_foreach(2, ops, clamp_run, &c);
    if (st == SD_OK && !direct) st = sd_copy_(out, tmp);
  }
  sd_release(ex);
  sd_release(tmp);
  return st;
}

sd_tensor *sd_clamp(const sd_tensor *x, double lo, double hi) {
  sd_tensor *out = sd_empty(x->dtype, x->ndim, x->shape);
  if (out && clamp_into(out, x, lo, hi) != SD_OK) { sd_release(out); return NULL; }
  return out;
}

sd_status sd_clamp_(sd_tensor *x, double lo, double hi) {
  sd_status st = clamp_into(x, x, lo, hi);
  sd_bump_version(x);
  return st;
}

sd_tensor *sd_where(const sd_tensor *cond, const sd_tensor *a, const sd_tensor *b) {
  int nd, n2;
  int64_t s1[SD_MAXDIM], shape[SD_MAXDIM];
  if (sd_broadcast_shape(a->ndim, a->shape, b->ndim, b->shape, &n2, s1) != SD_OK ||
      sd_broadcast_shape(cond->ndim, cond->shape, n2, s1, &nd, shape) != SD_OK) {
    char sc[128], sa[128], sb[128];
    sd_error(SD_ESHAPE, "where: shapes %s, %s and %s cannot broadcast",
             sd_shape_str(cond, sc, sizeof sc), sd_shape_str(a, sa, sizeof sa),
             sd_shape_str(b, sb, sizeof sb));
    return NULL;
  }
  sd_dtype dt = sd_dtype_promote(a->dtype, b->dtype);
  sd_tensor *out = sd_empty(dt, nd, shape);
  sd_tensor *ec = out ? operand(cond, SD_BOOL, nd, shape) : NULL;
  sd_tensor *ea = ec ? operand(a, dt, nd, shape) : NULL;
  sd_tensor *eb = ea ? operand(b, dt, nd, shape) : NULL;
  sd_status st = SD_EMEM;
  if (eb) {
    kctx c = {0, dt, 0, 0, 0};
    sd_tensor *ops[4] = {out, ec, ea, eb};
    st = sd_foreach(4, ops, where_run, &c);
  }
  sd_release(ec);
  sd_release(ea);
  sd_release(eb);
  if (st != SD_OK) { sd_release(out); return NULL; }
  return out;
}
