/*
 * utf8: one decoder for every place that must tell valid UTF-8 from junk
 * (CSV files, API answers, log fields, the simulator's JSON). RFC 3629:
 * no overlong forms, no surrogates, nothing past U+10FFFF.
 */
#ifndef BC_UTF8_H
#define BC_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The length (1..4) of the valid UTF-8 sequence at s, reading at most n
 * bytes (n >= 1), with its code point in *ret_cp (may be NULL); 0 when the
 * bytes at s are not one, *ret_cp then untouched. */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *ret_cp);

#endif
