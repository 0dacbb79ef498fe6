/* ltensor_linalg.c: placeholder until the linalg family lands. */
#include "lsonde.h"

const sd_reg sd_tensor_linalg_fns[] = {{NULL, NULL, NULL, NULL}};
const sd_reg sd_tensor_linalg_methods[] = {{NULL, NULL, NULL, NULL}};

