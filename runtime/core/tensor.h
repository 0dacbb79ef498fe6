/* tensor.h: the one tensor type of sonde. A tensor is a fixed header (shape
   and strides inline, strides in elements, 0 for broadcast) over a
   refcounted storage. Views share the storage and never copy.

   Conventions of the whole core:
   - dim and position arguments of C functions are 0-based; the Lua binding
     turns the language's 1-based dims and indices into them;
   - index *tensors* (taken by index_select/gather/..., returned by
     argmax/sort/nonzero/...) hold 1-based int64 indices, as the language
     does, so nothing is shifted on the way in or out;
   - functions returning sd_tensor* return a new reference, or NULL with the
     message set (sd_errmsg); functions returning sd_status report the same
     way. Nothing aborts. */
#ifndef SD_TENSOR_H
#define SD_TENSOR_H

#include "sd.h"

typedef struct sd_storage {
  void *data;
  size_t nbytes;
  int refcount;
  uint32_t version;                     /* bumped by every in-place write */
  void (*release)(struct sd_storage *); /* NULL: memory from sd_malloc */
  void *ctx;                            /* for release (mmap, borrowed) */
} sd_storage;

typedef struct sd_node sd_node;         /* an autograd node (autograd.h) */

typedef struct sd_tensor {
  int refcount;
  sd_dtype dtype;
  int ndim;
  int64_t shape[SD_MAXDIM];
  int64_t stride[SD_MAXDIM];
  int64_t offset;                       /* in elements, into storage */
  sd_storage *storage;
  /* autograd */
  bool requires_grad;
  struct sd_tensor *grad;
  sd_node *grad_fn;
} sd_tensor;

/* --- life cycle --- */
sd_tensor *sd_empty(sd_dtype dt, int ndim, const int64_t *shape);
sd_tensor *sd_zeros(sd_dtype dt, int ndim, const int64_t *shape);
sd_tensor *sd_full(sd_dtype dt, int ndim, const int64_t *shape, double v);
sd_tensor *sd_scalar(sd_dtype dt, double v);            /* 0-d tensor */
/* A tensor over memory sonde does not own; release(ctx) runs at the end. */
sd_tensor *sd_from_external(sd_dtype dt, int ndim, const int64_t *shape,
                            void *data, size_t nbytes,
                            void (*release)(sd_storage *), void *ctx);
sd_tensor *sd_retain(sd_tensor *t);
void sd_release(sd_tensor *t);          /* NULL is fine */
/* Drop the storage now (t:free()); the header stays, with 0 elements. */
void sd_tensor_free_storage(sd_tensor *t);

/* --- facts --- */
int64_t sd_numel(const sd_tensor *t);
static inline void *sd_data(const sd_tensor *t) {
  return (char *)t->storage->data + t->offset * (int64_t)sd_dtype_size(t->dtype);
}
bool sd_is_contiguous(const sd_tensor *t);
bool sd_same_shape(const sd_tensor *a, const sd_tensor *b);
/* "[3,4]" into buf; returns buf. */
const char *sd_shape_str(const sd_tensor *t, char *buf, size_t n);
/* Bounds check of a 0-based dim, negative counts from the end. */
sd_status sd_norm_dim(const sd_tensor *t, int *dim, const char *fn);
static inline void sd_bump_version(sd_tensor *t) { t->storage->version++; }

/* --- element access (slow path, any dtype) --- */
double sd_get_flat(const sd_tensor *t, int64_t i);     /* i over logical order */
double sd_get_ptr(sd_dtype dt, const void *p);
void sd_set_ptr(sd_dtype dt, void *p, double v);
int64_t sd_geti_ptr(sd_dtype dt, const void *p);        /* exact for i64 */
void sd_seti_ptr(sd_dtype dt, void *p, int64_t v);

/* --- views: share storage, never copy --- */
sd_tensor *sd_alias(const sd_tensor *t);                 /* same view, new header */
sd_tensor *sd_as_strided(const sd_tensor *t, int ndim, const int64_t *shape,
                         const int64_t *stride, int64_t offset);
sd_tensor *sd_view(const sd_tensor *t, int ndim, const int64_t *shape); /* one -1 allowed */
sd_tensor *sd_reshape(const sd_tensor *t, int ndim, const int64_t *shape); /* view or copy */
sd_tensor *sd_transpose(const sd_tensor *t, int d0, int d1);
sd_tensor *sd_permute(const sd_tensor *t, const int *perm);
sd_tensor *sd_narrow(const sd_tensor *t, int dim, int64_t start, int64_t len);
sd_tensor *sd_select(const sd_tensor *t, int dim, int64_t index);
sd_tensor *sd_squeeze(const sd_tensor *t, int dim);      /* dim < 0: all size-1 */
sd_tensor *sd_unsqueeze(const sd_tensor *t, int dim);
sd_tensor *sd_expand(const sd_tensor *t, int ndim, const int64_t *shape); /* -1 keeps */
sd_tensor *sd_flatten(const sd_tensor *t, int start, int end);
sd_tensor *sd_unfold(const sd_tensor *t, int dim, int64_t size, int64_t step);
/* Step slicing: elements start, start+step, ... < stop (0-based, step > 0). */
sd_tensor *sd_slice(const sd_tensor *t, int dim, int64_t start, int64_t stop, int64_t step);

/* --- copies and conversion --- */
sd_tensor *sd_contiguous(const sd_tensor *t);    /* retains t when already so */
sd_tensor *sd_clone(const sd_tensor *t);
sd_tensor *sd_to_dtype(const sd_tensor *t, sd_dtype dt); /* retains t when same */
/* dst[...] = src, broadcasting src to dst's shape, converting dtype. */
sd_status sd_copy_(sd_tensor *dst, const sd_tensor *src);
sd_status sd_fill_(sd_tensor *dst, double v);

/* --- broadcasting --- */
sd_status sd_broadcast_shape(int na, const int64_t *a, int nb, const int64_t *b,
                             int *nout, int64_t *out);

/* --- strided iteration ---
   Walks up to 4 same-shape operands (broadcast ones carry stride 0).
   Dims are coalesced, then fn is called for runs along the innermost dim
   with byte strides; the outer loop is split across threads when the work
   is large, so fn must not depend on call order. */
typedef void (*sd_loop_fn)(char **ptr, const int64_t *bstride, int64_t n, void *ctx);
sd_status sd_foreach(int nop, sd_tensor *const *ops, sd_loop_fn fn, void *ctx);

#endif
