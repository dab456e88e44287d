/* Base64 (RFC 4648, with padding) for binary payloads in recordings. */
#ifndef SHOP_REPLAY_BASE64_H
#define SHOP_REPLAY_BASE64_H

#include <stddef.h>

/* NUL-terminated text of len bytes; free() it. NULL when out of memory. */
char *base64_encode(const void *data, size_t len);

/* Decodes text (no whitespace); *out is malloc'ed and NUL-terminated after
 * its *out_len bytes (free() it, even when *out_len is 0). 0, or -1 when
 * text is not base64 or memory ran out. */
int base64_decode(const char *text, char **out, size_t *out_len);

#endif
