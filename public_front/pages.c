/* The web pages: GET/HEAD /, /admin and /static/<file>, plain files from the www dir. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "front.h"
#include "log.h"

#define STATIC_PREFIX "/static/"
#define PAGES_NAME_MAX 64
#define PAGES_FILE_MAX (1024 * 1024)

/* Every page response: the pages load nothing but their own files and
 * talk only to their own origin (no CDN, no inline script or style, no
 * framing); a browser must not guess another type than ours. */
#define PAGES_HEADERS                                                                          \
	"Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; "    \
	"connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "            \
	"frame-ancestors 'none'\r\n"                                                           \
	"X-Content-Type-Options: nosniff\r\n"                                                  \
	"Referrer-Policy: no-referrer\r\n"

/* The types served; a file of any other type is not served at all. */
static const struct page_type {
	const char *extension;
	const char *content_type;
} page_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
};

int front_pages_open(struct front *f, char *why, size_t size)
{
	struct stat st;
	int fd, index;

	fd = open(f->www_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, size, "%s", strerror(errno));
		return -1;
	}
	index = openat(fd, "index.html", O_RDONLY | O_CLOEXEC);
	if (index < 0 || fstat(index, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, size, "index.html: %s",
			 index < 0 ? strerror(errno) : "not a regular file");
		if (index >= 0)
			close(index);
		close(fd);
		return -1;
	}
	close(index);
	f->www_fd = fd;
	return 0;
}

void front_pages_close(struct front *f)
{
	if (f->www_fd >= 0)
		close(f->www_fd);
	f->www_fd = -1;
}

/* The content type of a file name that may be served, or NULL: one plain
 * name (letters, digits, '-', '_', '.'; no '/', no leading dot, no "..")
 * with a known extension. civetweb has already decoded %2e and %2f, so an
 * encoded traversal reaches this check as the plain one. */
static const char *servable_type(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > PAGES_NAME_MAX || name[0] == '.' || strstr(name, "..") != NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return NULL;
	}
	for (size_t i = 0; i < sizeof page_types / sizeof page_types[0]; i++) {
		size_t elen = strlen(page_types[i].extension);
		if (len > elen && strcmp(name + len - elen, page_types[i].extension) == 0)
			return page_types[i].content_type;
	}
	return NULL;
}

/* Reads a regular file of the www dir into a buffer the caller frees.
 * 0, or 404 when there is no such file, or 500 (logged). */
static int read_page(const struct front *f, const char *name, char **out, size_t *len)
{
	struct stat st;
	size_t used = 0;
	char *buf = NULL;
	int fd, status = 500;

	*out = NULL;
	fd = openat(f->www_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR)
			return 404;
		log_warn("www: cannot open '%s': %s", name, strerror(errno));
		return 500;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > PAGES_FILE_MAX) {
		status = 404;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL)
		goto out;
	while (used < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + used, (size_t)st.st_size - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_warn("www: cannot read '%s': %s", name, n < 0 ? strerror(errno) : "short file");
			goto out;
		}
		used += (size_t)n;
	}
	*out = buf;
	*len = used;
	buf = NULL;
	status = 0;
out:
	free(buf);
	close(fd);
	return status;
}

int front_pages_reply(struct mg_connection *conn, struct front *f)
{
	const char *path = http_path(conn);
	const char *name, *type;
	char *body;
	size_t len;
	int status;

	if (strcmp(path, "/") == 0)
		name = "index.html";
	else if (strcmp(path, "/admin") == 0)
		name = "admin.html";
	else
		name = path + strlen(STATIC_PREFIX);
	type = servable_type(name);
	if (type == NULL)
		return http_reply_error(conn, 404, "not_found", "no such path");
	status = read_page(f, name, &body, &len);
	if (status == 404)
		return http_reply_error(conn, 404, "not_found", "no such path");
	if (status != 0)
		return http_reply_error(conn, 500, "internal", "the page cannot be read");
	status = http_reply(conn, 200, type, body, len, PAGES_HEADERS);
	free(body);
	return status;
}
