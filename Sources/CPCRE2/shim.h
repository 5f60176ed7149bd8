#ifndef GATEHOUSE_CPCRE2_SHIM_H
#define GATEHOUSE_CPCRE2_SHIM_H
// PCRE2 with 8-bit code units. The generic names (pcre2_compile, ...) are function-like
// macros that Swift cannot import, so callers use the `_8` names.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

// Cast macros are not imported into Swift; expose them as inline functions.
static inline size_t cpcre2_unset(void) { return PCRE2_UNSET; }
static inline size_t cpcre2_zero_terminated(void) { return PCRE2_ZERO_TERMINATED; }
#endif
