/* ltensor_index.c: placeholder until the index family lands. */
#include "lsonde.h"

const sd_reg sd_tensor_index_fns[] = {{NULL, NULL, NULL, NULL}};
const sd_reg sd_tensor_index_methods[] = {{NULL, NULL, NULL, NULL}};

