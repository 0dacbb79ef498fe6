/* conv_wino.c: 3x3 stride-1 convolution by Winograd's F(2x2, 3x3) (Lavin
   and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016).

   Each 2x2 block of outputs (a tile) comes from the 4x4 input patch d at
   its top left (zeros in the padding), for every pair of channels, as
     Y = Aᵀ [U ⊙ V] A,   U = G g Gᵀ (g the 3x3 kernel),   V = Bᵀ d B
   with
     Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
     G  = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
     Aᵀ = [1 1 1 0; 0 1 -1 -1].
   Summed over input channels, the elementwise product becomes 16 GEMMs,
   one per position ξ of the 4x4: M_ξ [cout/g, tiles] = U_ξ [cout/g, cin/g]
   V_ξ [cin/g, tiles]: 16 multiply-adds per 4 outputs and input channel
   instead of 36, the reason this beats im2col when the GEMMs dominate.

   Tiles are taken in chunks of samples whose size depends on the shapes
   only; each output is computed from its own tile alone, so the split over
   threads never changes a bit. The transforms compute in f64; V and M are
   stored in the data's dtype. */
#include "conv_wino.h"
#include "parallel.h"
#include <stdlib.h>
#include <string.h>

#define SD_WINO_TILES 256 /* tiles per chunk: V and M of a chunk stay in cache */
#define SD_WINO_MIN 8     /* channels per group below which im2col is as good */

#if defined(__GNUC__) && !defined(__clang__)
#define SD_VEC __attribute__((target_clones("avx2", "default"), \
                              optimize("tree-vectorize", "vect-cost-model=dynamic")))
#else
#define SD_VEC
#endif

bool sd_wino_fits(int64_t cing, int64_t coutg) {
  return cing >= SD_WINO_MIN && coutg >= SD_WINO_MIN;
}

typedef struct {
  sd_wino_shape s;
  const sd_blas *bl;
  bool d;
  size_t es;
  int64_t oh, ow, cing, coutg, th, tw, t; /* t = th tw tiles per sample */
  int64_t bs, nch;                         /* samples per chunk, chunks */
  const char *x, *u, *bias;
  char *y;
  int failed;
} wino;

/* U [16][cout][cing] from the 3x3 kernels: G g Gᵀ. */
static void transform_weight(const wino *j, const char *w, bool adjoint, char *u) {
  int64_t cout = j->s.cout, cing = j->cing;
  for (int64_t o = 0; o < cout; o++)
    for (int64_t i = 0; i < cing; i++) {
      double g[3][3], t[4][3];
      for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
          /* adjoint: out channel o is input channel o % cing' of group o / cing'
             of the original, whose weight is [cout' = groups cing, cing' = coutg] */
          int64_t at = adjoint ? (((o / j->coutg) * cing + i) * j->coutg + o % j->coutg) * 9 +
                                     (2 - a) * 3 + (2 - b)
                               : (o * cing + i) * 9 + a * 3 + b;
          g[a][b] = ld(w, at, j->d);
        }
      for (int b = 0; b < 3; b++) {
        t[0][b] = g[0][b];
        t[1][b] = (g[0][b] + g[1][b] + g[2][b]) / 2;
        t[2][b] = (g[0][b] - g[1][b] + g[2][b]) / 2;
        t[3][b] = g[2][b];
      }
      for (int r = 0; r < 4; r++) {
        double v[4] = {t[r][0], (t[r][0] + t[r][1] + t[r][2]) / 2, (t[r][0] - t[r][1] + t[r][2]) / 2,
                       t[r][2]};
        for (int q = 0; q < 4; q++) st(u, ((r * 4 + q) * cout + o) * cing + i, v[q], j->d);
      }
    }
}

/* B's (or Bᵀ's) combinations of 4 neighbours: d0 - d2, d1 + d2, d2 - d1,
   d1 - d3 with d0 = e[i], d1 = o[i], d2 = e[i + s], d3 = o[i + s]. */
SD_INLINE void combine(const double *restrict e, const double *restrict o, int64_t s,
                       double *const c[4], int64_t n) {
  double *restrict c0 = c[0], *restrict c1 = c[1], *restrict c2 = c[2], *restrict c3 = c[3];
  for (int64_t i = 0; i < n; i++) {
    c0[i] = e[i] - e[i + s];
    c1[i] = o[i] + e[i + s];
    c2[i] = e[i + s] - o[i];
    c3[i] = o[i] - o[i + s];
  }
}

/* V [16][cing][nt] of samples n0.. (nb of them), group gi, a plane at a
   time. The padded plane is split by the parity of its rows and columns
   (par: ee, eo, oe, oo, each th + 1 rows of tr), so that a tile's 4 rows
   are rows ti, ti + 1 of the even and odd planes and its 4 columns columns
   tj, tj + 1 of theirs: B's combinations (cc[row parity][q]) and then
   Bᵀ's (vv[k]) are loops along whole planes, which vectorize. Their last
   column is past the last tile: computed, not stored. */
SD_INLINE void input_t(const wino *j, int64_t n0, int64_t nb, int64_t gi, char *v, double *pp,
                       bool d) {
  int64_t tr = j->tw + 1, np = (j->th + 1) * tr, nt = nb * j->t, h = j->s.h, w = j->s.w;
  int64_t pw = j->s.pw, step = j->cing * nt;
  double *par[4], *cc[2][4], *vv[4];
  for (int k = 0; k < 4; k++) par[k] = pp + k * (np + 1), par[k][np] = 0;
  for (int k = 0; k < 8; k++) cc[k / 4][k % 4] = pp + 4 * (np + 1) + k * np;
  for (int k = 0; k < 4; k++) vv[k] = pp + 4 * (np + 1) + (8 + k) * np;
  int64_t e0 = (pw + 1) / 2, e1 = (w + pw + 1) / 2, o0 = pw / 2, o1 = (w + pw) / 2;
  if (e1 > tr) e1 = tr; /* columns past the last tile's are not needed */
  if (o1 > tr) o1 = tr;
  for (int64_t b = 0; b < nb; b++)
    for (int64_t c = 0; c < j->cing; c++) {
      const char *plane = j->x + ((n0 + b) * j->s.cin + gi * j->cing + c) * h * w * (d ? 8 : 4);
      for (int64_t k = 0; k < 2 * j->th + 2; k++) {
        double *even = par[k % 2 * 2] + k / 2 * tr, *odd = par[k % 2 * 2 + 1] + k / 2 * tr;
        int64_t ih = k - j->s.ph;
        if (ih < 0 || ih >= h) {
          memset(even, 0, tr * sizeof *even);
          memset(odd, 0, tr * sizeof *odd);
          continue;
        }
        const char *row = plane + ih * w * (d ? 8 : 4);
        for (int64_t u = 0; u < e0; u++) even[u] = 0;
        for (int64_t u = e0; u < e1; u++) even[u] = ld(row, 2 * u - pw, d); /* column 2 u */
        for (int64_t u = e1; u < tr; u++) even[u] = 0;
        for (int64_t u = 0; u < o0; u++) odd[u] = 0;
        for (int64_t u = o0; u < o1; u++) odd[u] = ld(row, 2 * u + 1 - pw, d); /* 2 u + 1 */
        for (int64_t u = o1; u < tr; u++) odd[u] = 0;
      }
      for (int r = 0; r < 2; r++) combine(par[2 * r], par[2 * r + 1], 1, cc[r], np);
      for (int q = 0; q < 4; q++) { /* Bᵀ's, then V without the last column */
        combine(cc[0][q], cc[1][q], tr, vv, j->th * tr);
        char *v0 = v + ((q * j->cing + c) * nt + b * j->t) * (d ? 8 : 4);
        for (int k = 0; k < 4; k++)
          for (int64_t ti = 0; ti < j->th; ti++)
            for (int64_t tj = 0; tj < j->tw; tj++)
              st(v0, 4 * k * step + ti * j->tw + tj, vv[k][ti * tr + tj], d);
      }
    }
}

SD_VEC static void input(const wino *j, int64_t n0, int64_t nb, int64_t gi, char *v, double *pp) {
  if (j->d) input_t(j, n0, nb, gi, v, pp, true);
  else input_t(j, n0, nb, gi, v, pp, false);
}

/* y's planes of group gi from M [16][coutg][nt]: Aᵀ m A for every tile of
   the chunk in one loop along M's rows (into yt: 4 rows of coutg nt, the
   tiles' 4 outputs), then placed, plus the bias. */
SD_INLINE void output_t(const wino *j, int64_t n0, int64_t nb, int64_t gi, const char *m,
                        double *yt, bool d) {
  int64_t nt = nb * j->t, len = j->coutg * nt, oh = j->oh, ow = j->ow, t = j->t;
  double *restrict y0 = yt, *restrict y1 = yt + len, *restrict y2 = yt + 2 * len,
         *restrict y3 = yt + 3 * len;
  for (int64_t i = 0; i < len; i++) { /* m's rows k = 4 r + q, written out: a loop over
                                        k would be vectorized instead of this one */
    double e0 = ld(m, i, d), e1 = ld(m, len + i, d), e2 = ld(m, 2 * len + i, d),
           e3 = ld(m, 3 * len + i, d), e4 = ld(m, 4 * len + i, d), e5 = ld(m, 5 * len + i, d),
           e6 = ld(m, 6 * len + i, d), e7 = ld(m, 7 * len + i, d), e8 = ld(m, 8 * len + i, d),
           e9 = ld(m, 9 * len + i, d), e10 = ld(m, 10 * len + i, d), e11 = ld(m, 11 * len + i, d),
           e12 = ld(m, 12 * len + i, d), e13 = ld(m, 13 * len + i, d),
           e14 = ld(m, 14 * len + i, d), e15 = ld(m, 15 * len + i, d);
    double a0 = e0 + e4 + e8, a1 = e1 + e5 + e9, a2 = e2 + e6 + e10, a3 = e3 + e7 + e11;
    double b0 = e4 - e8 - e12, b1 = e5 - e9 - e13, b2 = e6 - e10 - e14, b3 = e7 - e11 - e15;
    y0[i] = a0 + a1 + a2;
    y1[i] = a1 - a2 - a3;
    y2[i] = b0 + b1 + b2;
    y3[i] = b1 - b2 - b3;
  }
  for (int64_t b = 0; b < nb; b++)
    for (int64_t co = 0; co < j->coutg; co++) {
      int64_t oc = gi * j->coutg + co, at = co * nt + b * t;
      double bias = j->bias ? ld(j->bias, oc, d) : 0;
      char *plane = j->y + ((n0 + b) * j->s.cout + oc) * oh * ow * (d ? 8 : 4);
      for (int64_t oi = 0; oi < oh; oi++) {
        const double *u = (oi % 2 ? y2 : y0) + at + oi / 2 * j->tw;
        const double *v = (oi % 2 ? y3 : y1) + at + oi / 2 * j->tw;
        char *orow = plane + oi * ow * (d ? 8 : 4);
        for (int64_t tj = 0; tj < ow / 2; tj++) {
          st(orow, 2 * tj, u[tj] + bias, d);
          st(orow, 2 * tj + 1, v[tj] + bias, d);
        }
        if (ow % 2) st(orow, ow - 1, u[ow / 2] + bias, d);
      }
    }
}

SD_VEC static void output(const wino *j, int64_t n0, int64_t nb, int64_t gi, const char *m,
                          double *yt) {
  if (j->d) output_t(j, n0, nb, gi, m, yt, true);
  else output_t(j, n0, nb, gi, m, yt, false);
}

static void task(int64_t c0, int64_t c1, void *p) {
  wino *j = p;
  size_t es = j->es, nt = (size_t)(j->bs * j->t);
  /* V, M, then input_t's 16 planes and output_t's 4 rows of tiles */
  size_t planes = 16 * (size_t)((j->th + 1) * (j->tw + 1) + 1), tiles = 4 * (size_t)j->coutg * nt;
  char *v = malloc(16 * (j->cing + j->coutg) * nt * es + (planes + tiles) * sizeof(double));
  if (!v) { __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED); return; }
  char *m = v + 16 * j->cing * nt * es;
  double *pp = (double *)(m + 16 * j->coutg * nt * es), *yt = pp + planes;
  for (int64_t c = c0; c < c1 && !sd_interrupt_flag; c++) {
    int64_t n0 = c * j->bs, nb = j->s.n - n0 < j->bs ? j->s.n - n0 : j->bs, n = nb * j->t;
    for (int64_t gi = 0; gi < j->s.groups; gi++) {
      input(j, n0, nb, gi, v, pp);
      for (int k = 0; k < 16; k++) {
        const char *a = j->u + (k * j->s.cout + gi * j->coutg) * j->cing * es;
        const char *b = v + k * j->cing * n * es;
        char *cm = m + k * j->coutg * n * es;
        if (j->d)
          j->bl->dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)j->coutg, (int)n,
                       (int)j->cing, 1.0, (const double *)a, (int)j->cing, (const double *)b, (int)n,
                       0.0, (double *)cm, (int)n);
        else
          j->bl->sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)j->coutg, (int)n,
                       (int)j->cing, 1.0f, (const float *)a, (int)j->cing, (const float *)b, (int)n,
                       0.0f, (float *)cm, (int)n);
      }
      output(j, n0, nb, gi, m, yt);
    }
  }
  free(v);
}

sd_status sd_wino_conv(const sd_blas *bl, bool d, const char *x, const char *w, bool adjoint,
                       const char *bias, char *y, const sd_wino_shape *s) {
  wino j = {.s = *s, .bl = bl, .d = d, .es = d ? 8 : 4, .x = x, .bias = bias, .y = y};
  j.oh = s->h + 2 * s->ph - 2;
  j.ow = s->w + 2 * s->pw - 2;
  j.cing = s->cin / s->groups;
  j.coutg = s->cout / s->groups;
  j.th = (j.oh + 1) / 2;
  j.tw = (j.ow + 1) / 2;
  j.t = j.th * j.tw;
  if (s->n == 0 || j.t == 0 || s->cout == 0) return SD_OK;
  j.bs = j.t >= SD_WINO_TILES ? 1 : SD_WINO_TILES / j.t;
  if (j.bs > s->n) j.bs = s->n;
  j.nch = (s->n + j.bs - 1) / j.bs;
  char *u = malloc(16 * s->cout * j.cing * j.es);
  if (!u) return sd_error(SD_EMEM, "conv2d: out of memory for the transformed weights");
  transform_weight(&j, w, adjoint, u);
  j.u = u;
  sd_parallel_for(j.nch, 1, task, &j);
  free(u);
  if (j.failed) return sd_error(SD_EMEM, "conv2d: out of memory for the Winograd tiles");
  return sd_check_interrupt();
}
