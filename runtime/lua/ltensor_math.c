/* ltensor_math.c: placeholder until the math family lands. */
#include "lsonde.h"

const sd_reg sd_tensor_math_fns[] = {{NULL, NULL, NULL, NULL}};
const sd_reg sd_tensor_math_methods[] = {{NULL, NULL, NULL, NULL}};
const sd_reg sd_tensor_math_meta[] = {{NULL, NULL, NULL, NULL}};
