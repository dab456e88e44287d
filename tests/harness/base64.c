/* Base64 (RFC 4648, with padding) for binary payloads in recordings. */
#include "base64.h"

#include <stdlib.h>
#include <string.h>

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *base64_encode(const void *data, size_t len)
{
	const unsigned char *in = data;
	char *out = malloc((len + 2) / 3 * 4 + 1);
	char *p = out;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		unsigned long v = (unsigned long)in[i] << 16;
		size_t left = len - i;

		if (left > 1)
			v |= (unsigned long)in[i + 1] << 8;
		if (left > 2)
			v |= in[i + 2];
		*p++ = alphabet[(v >> 18) & 63];
		*p++ = alphabet[(v >> 12) & 63];
		*p++ = left > 1 ? alphabet[(v >> 6) & 63] : '=';
		*p++ = left > 2 ? alphabet[v & 63] : '=';
	}
	*p = '\0';
	return out;
}

static int sextet(char c)
{
	const char *hit = c != '\0' ? strchr(alphabet, c) : NULL;

	return hit ? (int)(hit - alphabet) : -1;
}

int base64_decode(const char *text, char **out, size_t *out_len)
{
	size_t len = strlen(text);
	unsigned char *buf;
	size_t n = 0;

	*out = NULL;
	*out_len = 0;
	if (len % 4 != 0)
		return -1;
	buf = malloc(len / 4 * 3 + 1);
	if (buf == NULL)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int last = i + 4 == len;
		int pad = (text[i + 2] == '=') + (text[i + 3] == '=');
		int a = sextet(text[i]), b = sextet(text[i + 1]);
		int c = pad >= 2 ? 0 : sextet(text[i + 2]);
		int d = pad >= 1 ? 0 : sextet(text[i + 3]);
		unsigned long v;

		/* Padding only at the very end, and "x=y=" is not padding. */
		if (a < 0 || b < 0 || c < 0 || d < 0 || (pad > 0 && !last) ||
		    (pad == 1 && text[i + 2] == '='))
			goto bad;
		v = (unsigned long)a << 18 | (unsigned long)b << 12 | (unsigned long)c << 6 |
		    (unsigned long)d;
		buf[n++] = (unsigned char)(v >> 16);
		if (pad < 2)
			buf[n++] = (unsigned char)(v >> 8);
		if (pad < 1)
			buf[n++] = (unsigned char)v;
	}
	buf[n] = '\0';
	*out = (char *)buf;
	*out_len = n;
	return 0;
bad:
	free(buf);
	return -1;
}
