#ifndef HYBRIDSIM_CGSL_SHIM_H
#define HYBRIDSIM_CGSL_SHIM_H
// Inline vector accessors instead of range-checked library calls.
#define HAVE_INLINE 1
#define GSL_RANGE_CHECK_OFF 1
#include <gsl/gsl_errno.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_roots.h>
#include <gsl/gsl_min.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sf_erf.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_vector.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_version.h>

// GSL's solver and generator types are mutable C globals, which Swift 6 strict
// concurrency refuses to read; these accessors return them by value.
static inline const gsl_root_fsolver_type *hs_root_fsolver_brent(void) { return gsl_root_fsolver_brent; }
static inline const gsl_min_fminimizer_type *hs_min_fminimizer_brent(void) { return gsl_min_fminimizer_brent; }
static inline const gsl_rng_type *hs_rng_mt19937(void) { return gsl_rng_mt19937; }
static inline const gsl_multifit_nlinear_type *hs_multifit_nlinear_trust(void) { return gsl_multifit_nlinear_trust; }
static inline const char *hs_gsl_version(void) { return gsl_version; }

#endif
