/* ltensor_random.c: placeholder until the random family lands. */
#include "lsonde.h"

const sd_reg sd_tensor_random_fns[] = {{NULL, NULL, NULL, NULL}};
const sd_reg sd_tensor_random_methods[] = {{NULL, NULL, NULL, NULL}};

