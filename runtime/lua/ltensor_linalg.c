/* ltensor_linalg.c: products, factorisations, cdist, threads and the BLAS
   configuration of the `tensor` module (core in linalg.c, lapack.c, blas.c). */
#include "lsonde.h"
#include "../core/blas.h"
#include "../core/linalg.h"
#include "../core/ad.h"

/* --- products --- */

typedef sd_tensor *(*product_fn)(const sd_tensor *, const sd_tensor *);

static int product(lua_State *L, product_fn f, const char *fn) {
  sd_tensor *a = sd_lua_check(L, 1), *b = sd_lua_check(L, 2);
  sd_lua_push(L, f(a, b), fn);
  return 1;
}

/* Factorisations and distances have no gradient rule yet: refused on
   inputs that need one (the explicit non-differentiable mark). */
static sd_tensor *nondiff(lua_State *L, const char *fn, int n) {
  sd_tensor *in[3] = {NULL, NULL, NULL};
  for (int i = 0; i < n; i++) in[i] = sd_lua_check(L, i + 1);
  if (sd_ad_nondiff(fn, n, in) != SD_OK) sd_lua_fail(L, fn);
  return in[0];
}

static int nondiff_product(lua_State *L, product_fn f, const char *fn) {
  nondiff(L, fn, 2);
  return product(L, f, fn);
}

static int l_matmul(lua_State *L) { return product(L, sd_ad_matmul, "matmul"); }
static int l_mm(lua_State *L) { return product(L, sd_ad_mm, "mm"); }
static int l_bmm(lua_State *L) { return product(L, sd_ad_bmm, "bmm"); }
static int l_mv(lua_State *L) { return product(L, sd_ad_mv, "mv"); }
static int l_dot(lua_State *L) { return product(L, sd_ad_dot, "dot"); }
static int l_outer(lua_State *L) { return product(L, sd_ad_outer, "outer"); }



/* addmm(c, a, b, {beta=1, alpha=1}) */
static int l_addmm(lua_State *L) {
  sd_tensor *c = sd_lua_check(L, 1), *a = sd_lua_check(L, 2), *b = sd_lua_check(L, 3);
  double beta = sd_lua_optnumber(L, 4, "beta", 1), alpha = sd_lua_optnumber(L, 4, "alpha", 1);
  sd_lua_push(L, sd_ad_addmm(c, a, b, beta, alpha), "addmm");
  return 1;
}

/* --- LAPACK --- */

static int l_cholesky(lua_State *L) {
  sd_tensor *a = nondiff(L, "cholesky", 1);
  sd_lua_push(L, sd_cholesky(a, sd_lua_optbool(L, 2, "upper", false)), "cholesky");
  return 1;
}

static int l_solve(lua_State *L) { return nondiff_product(L, sd_solve, "solve"); }
static int l_lstsq(lua_State *L) { return nondiff_product(L, sd_lstsq, "lstsq"); }

static int l_inverse(lua_State *L) {
  sd_lua_push(L, sd_inverse(nondiff(L, "inverse", 1)), "inverse");
  return 1;
}

static int l_det(lua_State *L) {
  sd_lua_push(L, sd_det(nondiff(L, "det", 1)), "det");
  return 1;
}

/* Pushes the n results of a core call that returned st. */
static int push_results(lua_State *L, sd_status st, sd_tensor **r, int n, const char *fn) {
  if (st != SD_OK) return sd_lua_fail(L, fn);
  for (int i = 0; i < n; i++) sd_lua_push(L, r[i], fn);
  return n;
}

static int l_slogdet(lua_State *L) {
  sd_tensor *r[2];
  return push_results(L, sd_slogdet(nondiff(L, "slogdet", 1), &r[0], &r[1]), r, 2, "slogdet");
}

static int l_eigh(lua_State *L) {
  sd_tensor *r[2];
  return push_results(L, sd_eigh(nondiff(L, "eigh", 1), &r[0], &r[1]), r, 2, "eigh");
}

static int l_svd(lua_State *L) {
  sd_tensor *a = nondiff(L, "svd", 1), *r[3];
  bool full = sd_lua_optbool(L, 2, "full_matrices", false);
  return push_results(L, sd_svd(a, full, &r[0], &r[1], &r[2]), r, 3, "svd");
}

static int l_qr(lua_State *L) {
  sd_tensor *r[2];
  return push_results(L, sd_qr(nondiff(L, "qr", 1), &r[0], &r[1]), r, 2, "qr");
}

/* --- distances --- */

static int l_cdist(lua_State *L) {
  sd_tensor *a = nondiff(L, "cdist", 2), *b = sd_lua_check(L, 2);
  sd_lua_push(L, sd_cdist(a, b, sd_lua_optbool(L, 3, "squared", false)), "cdist");
  return 1;
}

/* --- threads and configuration --- */

static int l_set_num_threads(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  if (n < 1) return luaL_argerror(L, 1, "thread count must be at least 1");
  sd_set_num_threads(n > 1024 ? 1024 : (int)n);
  return 0;
}

static int l_get_num_threads(lua_State *L) {
  lua_pushinteger(L, sd_get_num_threads());
  return 1;
}

static int l_config(lua_State *L) {
  sd_blas_info info;
  if (sd_blas_info_get(&info) != SD_OK) return sd_lua_fail(L, "config");
  lua_createtable(L, 0, 7);
  lua_pushstring(L, info.config);
  lua_setfield(L, -2, "blas");
  lua_pushstring(L, info.core);
  lua_setfield(L, -2, "blas_core");
  lua_pushstring(L, info.source);
  lua_setfield(L, -2, "blas_core_source");
  lua_pushstring(L, info.cpu_core);
  lua_setfield(L, -2, "cpu_core");
  lua_pushinteger(L, info.threads);
  lua_setfield(L, -2, "blas_threads");
  lua_pushinteger(L, sd_get_num_threads());
  lua_setfield(L, -2, "threads");
  lua_pushstring(L, SD_VERSION);
  lua_setfield(L, -2, "version");
  return 1;
}

/* tensor._sgemm_raw(a, b, c): c = a @ b by one cblas_sgemm call with
   OpenBLAS's own threads (as many as sonde's), for the benchmark that
   compares matmul with raw BLAS in the same process. */
static int l_sgemm_raw(lua_State *L) {
  sd_tensor *a = sd_lua_check(L, 1), *b = sd_lua_check(L, 2), *c = sd_lua_check(L, 3);
  sd_tensor *t[3] = {a, b, c};
  for (int i = 0; i < 3; i++)
    if (t[i]->dtype != SD_F32 || t[i]->ndim != 2 || !sd_is_contiguous(t[i]))
      return luaL_argerror(L, i + 1, "contiguous 2-d f32 tensor expected");
  if (a->shape[1] != b->shape[0] || c->shape[0] != a->shape[0] || c->shape[1] != b->shape[1])
    return luaL_error(L, "_sgemm_raw: shapes do not fit c = a @ b");
  const sd_blas *bl = sd_blas_get();
  if (!bl) return sd_lua_fail(L, "_sgemm_raw");
  int m = (int)a->shape[0], n = (int)b->shape[1], k = (int)a->shape[1];
  bl->set_num_threads(sd_get_num_threads());
  bl->sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, sd_data(a), k > 0 ? k : 1,
            sd_data(b), n > 0 ? n : 1, 0.0f, sd_data(c), n > 0 ? n : 1);
  bl->set_num_threads(1);
  return 0;
}

const sd_reg sd_tensor_linalg_fns[] = {
  {"matmul", l_matmul, "tensor.matmul(a, b)",
   "matrix product as torch.matmul: dot, matrix-vector, matrix, batched with broadcasting"},
  {"mm", l_mm, "tensor.mm(a, b)", "product of two matrices"},
  {"bmm", l_bmm, "tensor.bmm(a, b)", "batched product of [B,n,k] and [B,k,m]"},
  {"mv", l_mv, "tensor.mv(a, x)", "matrix-vector product"},
  {"dot", l_dot, "tensor.dot(x, y)", "dot product of two vectors (a 0-d tensor, summed in f64)"},
  {"outer", l_outer, "tensor.outer(x, y)", "outer product of two vectors"},
  {"addmm", l_addmm, "tensor.addmm(c, a, b, {beta=1, alpha=1})", "beta * c + alpha * (a @ b)"},
  {"cholesky", l_cholesky, "tensor.cholesky(A, {upper=false})",
   "Cholesky factor L with A = L L^T (U with A = U^T U when upper)"},
  {"solve", l_solve, "tensor.solve(A, B)", "X with A X = B (B a matrix or a vector; batches broadcast)"},
  {"inverse", l_inverse, "tensor.inverse(A)", "inverse of a square matrix"},
  {"eigh", l_eigh, "tensor.eigh(A)",
   "eigenvalues (ascending) and eigenvectors (columns) of a symmetric matrix, from its lower triangle"},
  {"svd", l_svd, "tensor.svd(A, {full_matrices=false})", "U, S, Vh with A = U diag(S) Vh"},
  {"qr", l_qr, "tensor.qr(A)", "reduced QR: Q with orthonormal columns, R upper triangular"},
  {"lstsq", l_lstsq, "tensor.lstsq(A, B)", "minimum-norm least-squares solution X of A X = B"},
  {"det", l_det, "tensor.det(A)", "determinant of a square matrix"},
  {"slogdet", l_slogdet, "tensor.slogdet(A)", "sign and log of the absolute determinant"},
  {"cdist", l_cdist, "tensor.cdist(a, b, {squared=false})",
   "Euclidean distances between rows of a [n,d] and b [m,d]; identical rows give exactly 0"},
  {"set_num_threads", l_set_num_threads, "tensor.set_num_threads(n)",
   "threads for sonde's kernels and BLAS products (results do not depend on it)"},
  {"get_num_threads", l_get_num_threads, "tensor.get_num_threads()", "the thread count"},
  {"config", l_config, "tensor.config()",
   "{blas, blas_core, blas_core_source, cpu_core, blas_threads, threads, version}; loads OpenBLAS"},
  {"_sgemm_raw", l_sgemm_raw, "tensor._sgemm_raw(a, b, c)",
   "benchmark helper: c = a @ b by one raw cblas_sgemm call on OpenBLAS's threads"},
  {NULL, NULL, NULL, NULL},
};

const sd_reg sd_tensor_linalg_methods[] = {
  {"matmul", l_matmul, "t:matmul(b)", "matrix product as torch.matmul"},
  {"mm", l_mm, "t:mm(b)", "product of two matrices"},
  {"bmm", l_bmm, "t:bmm(b)", "batched matrix product"},
  {"mv", l_mv, "t:mv(x)", "matrix-vector product"},
  {"dot", l_dot, "t:dot(y)", "dot product of two vectors"},
  {"outer", l_outer, "t:outer(y)", "outer product of two vectors"},
  {"addmm", l_addmm, "t:addmm(a, b, {beta=1, alpha=1})", "beta * t + alpha * (a @ b)"},
  {"cholesky", l_cholesky, "t:cholesky({upper=false})", "Cholesky factor"},
  {"solve", l_solve, "t:solve(B)", "X with t X = B"},
  {"inverse", l_inverse, "t:inverse()", "inverse matrix"},
  {"eigh", l_eigh, "t:eigh()", "eigenvalues (ascending) and eigenvectors (columns)"},
  {"svd", l_svd, "t:svd({full_matrices=false})", "U, S, Vh"},
  {"qr", l_qr, "t:qr()", "reduced Q, R"},
  {"lstsq", l_lstsq, "t:lstsq(B)", "minimum-norm least-squares solution"},
  {"det", l_det, "t:det()", "determinant"},
  {"slogdet", l_slogdet, "t:slogdet()", "sign and log|det|"},
  {"cdist", l_cdist, "t:cdist(b, {squared=false})", "Euclidean distances between rows"},
  {NULL, NULL, NULL, NULL},
};
