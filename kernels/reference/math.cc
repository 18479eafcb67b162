// (math.h is header-only; this file keeps the reference library non-empty while ops are added.)
#include "kernels/reference/math.h"
