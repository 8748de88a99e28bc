/* Forced into every object of libkvault (-include) while the library is
 * compiled with -fvisibility=hidden: the functions include/kvault.h declares
 * get default visibility here, so they are the only ones that can be
 * exported; cmake/kvault.map then exports exactly kvault_*. (A version
 * script alone cannot export a hidden symbol.) kvault.h's include guard
 * makes the sources' own #include "kvault.h" a no-op. */
#pragma GCC visibility push(default)
#include "kvault.h"
#pragma GCC visibility pop
