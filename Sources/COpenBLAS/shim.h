#ifndef HYBRIDSIM_COPENBLAS_SHIM_H
#define HYBRIDSIM_COPENBLAS_SHIM_H
#include <cblas.h>
#endif
