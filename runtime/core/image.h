/* image.h: image kernels of the `image` module: bilinear resize (as
   torch.nn.functional.interpolate(mode="bilinear", align_corners=False)),
   flips, per-channel normalization, grids of images (as
   torchvision.utils.make_grid), colormaps and anomaly-map overlays.
   Images are C x H x W or N x C x H x W; H and W are the last two dims. */
#ifndef SD_IMAGE_H
#define SD_IMAGE_H

#include "tensor.h"

/* t (..., H, W; 2 to 4 dims, f32 or f64) resized to h x w, same dtype. */
sd_tensor *sd_image_resize(const sd_tensor *t, int64_t h, int64_t w);
/* A contiguous copy of t with dim reversed (any dtype). */
sd_tensor *sd_image_flip(const sd_tensor *t, int dim);
/* (t - mean[c]) / std[c] over the channel dim (ndim-3) of a C x H x W or
   N x C x H x W tensor; n == C; f64 stays f64, anything else becomes f32. */
sd_tensor *sd_image_normalize(const sd_tensor *t, int n, const double *mean, const double *std);
/* n images, all C x H x W, in rows of ncol, padding pixels of pad_value
   around and between them: C x (rows*(H+p)+p) x (ncol'*(W+p)+p), where
   ncol' = min(ncol, n); dtype of the first image. */
sd_tensor *sd_image_grid(int n, sd_tensor *const *imgs, int64_t ncol, int64_t padding,
                         double pad_value);

typedef enum { SD_CMAP_VIRIDIS, SD_CMAP_MAGMA, SD_CMAP_GRAY } sd_cmap;
/* The colour of v in [0,1] (clamped) into rgb; matplotlib's tables. */
void sd_cmap_color(sd_cmap cm, double v, float rgb[3]);
/* H x W -> 3 x H x W f32 in [0,1]; vmin > vmax (NaN) means t's min / max.
   NaN pixels are black. */
sd_tensor *sd_image_heatmap(const sd_tensor *t, sd_cmap cm, double vmin, double vmax);
/* 3 x H x W f32: (1-alpha) * img + alpha * heatmap(map resized to H x W).
   img is C x H x W, C = 1 or 3, floats in [0,1] or u8 (scaled by 1/255). */
sd_tensor *sd_image_overlay(const sd_tensor *img, const sd_tensor *map, double alpha,
                            sd_cmap cm, double vmin, double vmax);

#endif
