/* num.h — checked number parsing for untrusted text (command line, files, database rows,
 * HTTP headers, ids): the whole string must be the number, digits only, within the caller's
 * bounds. It stands in for strtol, strtoul, strtoll, strtoull and atoi, which the style guide
 * (docs/style.md) bans: they skip leading spaces, accept a sign ("+5", and "-5" even for an
 * unsigned result), stop quietly at trailing junk, and report overflow only through errno.
 */
#ifndef AL_COMMON_NUM_H
#define AL_COMMON_NUM_H

#include <stdint.h>

/* Parse `s` as an unsigned decimal: one or more digits '0'..'9' and nothing else (no sign, no
 * spaces, no "0x"; leading zeros are allowed). Stores the value in *ret and returns 0 when it
 * lies in [min, max]. Returns -EINVAL when `s` is NULL, empty or holds anything but digits,
 * -ERANGE when the value is outside [min, max] (also when it overflows 64 bits). *ret is
 * written only on success. */
int al_num_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret);

/* As al_num_parse_u64, with an optional leading '-' (never '+', never a space): [-]digits
 * within [min, max]. */
int al_num_parse_i64(const char *s, int64_t min, int64_t max, int64_t *ret);

/* As al_num_parse_u64, in hexadecimal: digits '0'..'9', 'a'..'f', 'A'..'F' and nothing else
 * (no "0x" prefix, no sign, no spaces). */
int al_num_parse_hex_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret);

#endif
